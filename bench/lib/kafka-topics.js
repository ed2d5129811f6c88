// Creates the services' topics before they start, and waits until every partition has a leader:
//   node bench/lib/kafka-topics.js <broker> <partitions> <topic>...
// A service that creates its topic itself can send its first batch while leaders are still being
// elected; kafkajs's idempotent producer then answered every retry with "out of order sequence
// number" and never published again (seen on this stack). The bench measures the hot path, so it
// starts the services on ready topics.
const { setTimeout: sleep } = require('timers/promises');
const { Kafka, logLevel } = require('kafkajs');

async function main([broker, partitions, ...topics]) {
  const admin = new Kafka({ clientId: 'ledger-bench', brokers: [broker], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({ topic, numPartitions: Number(partitions) })),
    });
    for (let attempt = 0; ; attempt++) {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics });
      if (meta.every((t) => t.partitions.length === Number(partitions) && t.partitions.every((p) => p.leader >= 0)))
        return;
      if (attempt > 100) throw new Error(`partitions of ${topics.join(', ')} have no leader after 20 s`);
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`kafka-topics: ${error.message}\n`);
  process.exit(1);
});
