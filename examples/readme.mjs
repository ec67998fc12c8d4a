import { Actor, ActorSystem, supervisor } from 'apiary-runtime';

class Counter extends Actor {
  count = 0;
  receive(msg) {
    if (msg.type === 'add') this.count += msg.n;
    if (msg.type === 'crash') throw new Error('agent crashed');
    return this.count; // the reply to an ask
  }
}

const system = new ActorSystem();
system.events$.subscribe((e) => e.type === 'restarted' && console.log(`restarted ${e.path}`));
await system.spawn(supervisor({ strategy: 'one-for-one', intensity: 3, children: [{ id: 'counter', actor: Counter }] }), { name: 'app' });

const counter = system.at('/app/counter');
counter.tell({ type: 'add', n: 2 });
console.log(await counter.ask({ type: 'add', n: 3 })); // 5
await counter.ask({ type: 'crash' }).catch((err) => console.log(err.code)); // ERR_ACTOR_FAILED, then a restart
console.log(await counter.ask({ type: 'add', n: 1 })); // 1: a fresh instance, same ref
await system.stop();
