// What a node-postgres dashboard does: a named prepared statement run past
// the point where PostgreSQL picks a generic plan.  Prints one line per run.
const { Client } = require('pg');

async function main() {
  const client = new Client({ connectionString: process.argv[2] });
  await client.connect();
  for (let i = 1; i <= 12; i++) {
    const result = await client.query({
      name: 'class-of-key',
      text: 'SELECT class FROM m_p WHERE id = $1',
      values: [Number(process.argv[3])],
    });
    console.log(`execution ${i}: ${result.rows[0].class}`);
  }
  await client.end();
}

main().catch((error) => { console.error(error.message); process.exit(1); });
