import type { Kafka } from 'kafkajs';
import type { SchemaRegistry } from '../../schemas/index.js';
import type { ScreenHub } from '../channels/screens.js';
import { broadcast, type Broadcast } from './broadcast.js';

/**
 * Feeds an instance's store screens from the recommendations topic, so that every instance serves
 * every store, whichever instance computed an update (the store's customers' partitions may live
 * anywhere). The topic is read whole by each instance ({@link broadcast}): the hub keeps the newest
 * suggestions per store, so a screen that connects or reconnects gets the current ones at once.
 */
export function feedScreens(o: {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly hub: ScreenHub;
  readonly group: string;
  readonly registry?: SchemaRegistry;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}): Promise<Broadcast> {
  return broadcast({
    ...o,
    schema: 'RecommendationUpdate',
    onValue: (u) => {
      if (u.storeId !== null) o.hub.publish(u);
    },
  });
}

/**
 * Feeds an instance's store screens the offers of the moment from the offers topic (read whole,
 * as {@link feedScreens}): an in-store offer sent in a store, whichever instance decided it, shows
 * on every screen of that store ({@link ScreenHub.publishOffer}; nothing of the customer).
 */
export function feedScreenOffers(o: Parameters<typeof feedScreens>[0]): Promise<Broadcast> {
  return broadcast({
    ...o,
    schema: 'Offer',
    onValue: (offer) => void o.hub.publishOffer(offer),
  });
}
