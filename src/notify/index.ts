// The notify module's front door: telling people something happened (notify, notifyPeople: in
// the caller's transaction), account emails that go whatever the preferences (sendTransactional),
// each account's own preferences, the dispatcher and senders, and the pages.
// The schema first: the migration registry reads it while the module's other files may still be loading.
export { notificationEvents, notifyMigrations, type Channel, type Frequency, type NotificationEvent, type NotifyTables } from './schema.ts';
export {
  notify,
  notifyPeople,
  preferencesOf,
  sendTransactional,
  setOwnPreferences,
  type NotifyInput,
  type Preferences,
  type TransactionalRecipient,
} from './notify.ts';
export {
  createNotificationDispatcher,
  lastDigestTime,
  type NotificationDispatcher,
  type NotificationDispatcherOptions,
} from './dispatcher.ts';
export {
  notConfiguredSender,
  notifyEmailSender,
  notifySmsSender,
  sendersFromConfig,
  SendFailure,
  smtpSender,
  type OutgoingMessage,
  type Sender,
  type Senders,
} from './senders.ts';
export { eventMessage, eventWords } from './messages.ts';
export { deliveryCounts, listDeliveries } from './admin.ts';
export { registerNotifyRoutes, type NotifyRouteOptions } from './routes.ts';
