// The ports a RabbitMQ node listens on, as the official image and operator use them.
export const PORTS = {
  amqp: 5672,
  amqps: 5671,
  management: 15672,
  managementTls: 15671,
  prometheus: 15692,
  epmd: 4369,
  clustering: 25672,
} as const;
