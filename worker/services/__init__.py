"""Local Kafka (KRaft), PostgreSQL and Redis on loopback, for development, demos and CI."""
