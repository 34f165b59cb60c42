// How escalation deliveries are kept in the store (records of kind 'escalation') and shown.

import type { StoredRecord } from '../store/index.ts';
import type { Severity, WebhookFormat } from './configTypes.ts';
import type { Notification } from './webhookFormats.ts';

export const DELIVERY_RECORD_KIND = 'escalation';

/** `pending` until the target accepted it (`delivered`) or refused it for good (`rejected`, a 4xx). */
export type DeliveryStatus = 'pending' | 'delivered' | 'rejected';

/** One notification to one target, as the API shows it: no routing key, header or secret URL part. */
export interface DeliveryView {
  id: string;
  /** The notification's dedup key. */
  notificationId: string;
  action: 'trigger' | 'resolve';
  service: string;
  severity: Severity;
  summary: string;
  /** The target's name, or its URL with secrets hidden. */
  target: string;
  format: WebhookFormat;
  status: DeliveryStatus;
  /** Requests sent so far. */
  attempts: number;
  /** Why the last request failed, if one did. */
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
}

/** What the store holds for one delivery (JSON). */
export interface Delivery {
  version: 1;
  id: string;
  notification: Notification;
  target: { name: string; format: WebhookFormat; key: string; urlKey: string };
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
}

export function parseDelivery(record: StoredRecord): Delivery | undefined {
  try {
    const delivery = JSON.parse(record.data) as Delivery;
    return delivery?.version === 1 ? delivery : undefined;
  } catch {
    return undefined;
  }
}

export function deliveryView(delivery: Delivery): DeliveryView {
  const n = delivery.notification;
  return {
    id: delivery.id,
    notificationId: n.id,
    action: n.action,
    service: n.service,
    severity: n.severity,
    summary: n.summary,
    target: delivery.target.name,
    format: delivery.target.format,
    status: delivery.status,
    attempts: delivery.attempts,
    lastError: delivery.lastError,
    createdAt: iso(delivery.createdAt),
    updatedAt: iso(delivery.updatedAt),
    deliveredAt: delivery.deliveredAt === null ? null : iso(delivery.deliveredAt),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
