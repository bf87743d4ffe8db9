// Shell scripts the node containers run. Kept as plain text here so that their golden output is
// reviewable; they need only bash and coreutils, which every RabbitMQ image has.
import { PORTS } from "../rabbitmq/ports.js";

export const RABBITMQ_HOME = "/var/lib/rabbitmq";
export const MNESIA_DIR = `${RABBITMQ_HOME}/mnesia`;
export const CONF_D = "/etc/rabbitmq/conf.d";
export const OPERATOR_FILES = "/etc/rabbitmq/operator";
export const COOKIE_SOURCE = "/operator/erlang-cookie";

/**
 * Init container. Installs the Erlang cookie, then holds back a node that would otherwise start a
 * cluster of its own: a ram node until a disc node accepts AMQP connections (a ram node that boots
 * alone becomes a disc node of a new cluster), and a fresh disc node other than ordinal 0 until
 * another disc node does. A disc node with data never waits: after a full stop, the disc nodes
 * must start together to find the last one that stopped.
 */
export const PREPARE_SCRIPT = `set -eu
cookie=${RABBITMQ_HOME}/.erlang.cookie
rm -f "$cookie"
cp ${COOKIE_SOURCE}/.erlang.cookie "$cookie"
chmod 600 "$cookie"

self_host="\${RABBITMQ_NODENAME#rabbit@}"
if [ "$NODE_TYPE" = disc ] && { [ "$POD_ORDINAL" = 0 ] || [ -d "${MNESIA_DIR}/$RABBITMQ_NODENAME" ]; }; then
  exit 0
fi
echo "waiting for a disc node of the cluster to accept connections on ${PORTS.amqp}"
while true; do
  for host in $(sed -n 's/^cluster_formation\\.classic_config\\.nodes\\.[0-9]* *= *rabbit@//p' ${CONF_D}/11-peers.conf); do
    [ "$host" = "$self_host" ] && continue
    if timeout 2 bash -c "exec 3<>/dev/tcp/$host/${PORTS.amqp}" 2>/dev/null; then
      echo "$host is up"
      exit 0
    fi
  done
  sleep 2
done
`;

/**
 * preStop hook. In a cluster of several running nodes, waits until every quorum queue keeps its
 * quorum without this node, then drains it (moves leaders, closes client connections), so that
 * a restart or eviction loses neither availability nor messages.
 */
export const PRE_STOP_SCRIPT = `set -u
running=$(rabbitmqctl -q eval 'length(rabbit_nodes:all_running()).' 2>/dev/null || echo 1)
if [ "$running" -gt 1 ]; then
  rabbitmq-upgrade await_online_quorum_plus_one -t "$GRACE_SECONDS" || true
  rabbitmq-upgrade drain -t "$GRACE_SECONDS" || true
fi
`;
