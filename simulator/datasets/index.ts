/**
 * Loaders of the shared public datasets into contract events, each streaming its file and keeping
 * a rejection report that accounts for every row (see `report.ts`).
 */
export { loadGeoLife } from './geolife.js';
export { loadInstacart, type InstacartOptions } from './instacart.js';
export { loadOnlineRetail, type OnlineRetailOptions } from './online-retail.js';
export { loadRees46 } from './rees46.js';
export { datasetPath, datasetsDir } from './paths.js';
export { collect, rejectedTotal, REPORT_UNITS, type DatasetLoad, type LoadOptions, type RejectedRow, type RejectionReport } from './report.js';
