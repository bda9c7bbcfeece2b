#!/usr/bin/env bash
# The `kafka-topics` one-shot of docker-compose.yml: creates the posts topic and its
# dead-letter topic when missing, and grows the posts topic to MOODWATCH_KAFKA_PARTITIONS
# (Kafka can add partitions, never remove them). Topic names are the settings' defaults.
set -euo pipefail
BOOTSTRAP=${MOODWATCH_KAFKA_BOOTSTRAP_SERVERS:-kafka:9092}
PARTITIONS=${MOODWATCH_KAFKA_PARTITIONS:-4}
TOPICS=${KAFKA_TOPICS_SH:-/opt/kafka/bin/kafka-topics.sh}

create() {  # topic, partitions
  "$TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$1" --partitions "$2" --replication-factor 1
}

create posts "$PARTITIONS"
create posts.dlq 1

current=$("$TOPICS" --bootstrap-server "$BOOTSTRAP" --describe --topic posts | grep -c "Partition: ")
if [ "$current" -lt "$PARTITIONS" ]; then
  echo "growing posts from $current to $PARTITIONS partitions"
  "$TOPICS" --bootstrap-server "$BOOTSTRAP" --alter --topic posts --partitions "$PARTITIONS"
fi
echo "topics ready: posts ($PARTITIONS+ partitions), posts.dlq"
