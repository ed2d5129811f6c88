// The baseline's Redis key layout (its own logical database; see server.js).
module.exports = {
  account: (id) => `bl:acct:${id}`,
  reservation: (id) => `bl:res:${id}`,
  outbox: 'bl:outbox',
};
