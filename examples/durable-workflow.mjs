import { Actor, ActorSystem, DurableWorkflows } from 'apiary-runtime';

class Writer extends Actor {
  receive({ step, inputs }) {
    return `${step}(${Object.values(inputs).join(', ')})`;
  }
}

const system = new ActorSystem({ store: { kind: 'lmdb', dir: process.argv[2] ?? 'apiary-data/example' } });
await system.ready();
const writer = await system.spawn(Writer);
// the system's store, clock and events; registered there for GET /workflows and `apiary workflows`
const workflows = new DurableWorkflows({ system, keepAlive: true });

// a definition: plain-data input → steps (the refs and functions live in code, not in the store)
workflows.define('article', ({ topic }) => ({ tasks: [
  { id: 'draft', target: writer, message: { step: 'draft', inputs: { topic } } },
  { id: 'review', dependsOn: ['draft'], waitFor: 'approved' }, // a human, maybe days later
  { id: 'cool-off', dependsOn: ['review'], sleep: 500 }, // a durable timer (wall clock)
  { id: 'publish', dependsOn: ['draft', 'review', 'cool-off'], target: writer,
    message: (i) => ({ step: 'publish', inputs: { draft: i.draft, by: i.review.by } }) },
] }));

console.log('resumed', await workflows.resume()); // what a killed process left unfinished
const run = await workflows.start('article', { topic: 'bees' }, { runId: 'article-42' });
await workflows.signal('article-42', 'approved', { by: 'ann' }) // kept until 'review' waits
  .catch((err) => { if (err.code !== 'ERR_WORKFLOW_FINISHED') throw err; }); // a second run: done already
console.log((await run.result).tasks.publish.value);
for (const r of await workflows.list()) console.log(r.runId, r.status);
await workflows.stop();
await system.stop();
