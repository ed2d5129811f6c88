-- docker-compose.yml: runs once on an empty data volume, as POSTGRES_USER (ledger).
-- scripts/stack.sh creates the same database for the Docker-less setup.
CREATE DATABASE ledger_test OWNER ledger;
