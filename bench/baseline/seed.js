// Opens and funds the baseline's accounts: node bench/baseline/seed.js <redis url> <id prefix> <count>
// Account ids are <prefix>-1 ... <prefix>-<count>, USD, a balance of 1,000,000,000.00.
const Redis = require('ioredis');
const keys = require('./keys');

async function main([url, prefix, count]) {
  const redis = new Redis(url);
  const pipeline = redis.pipeline();
  for (let i = 1; i <= Number(count); i++) {
    pipeline.hset(keys.account(`${prefix}-${i}`), 'cur', 'USD', 'bal', '100000000000', 'held', '0', 'ver', '1');
  }
  await pipeline.exec();
  await redis.quit();
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`seed: ${error.stack}\n`);
  process.exit(1);
});
