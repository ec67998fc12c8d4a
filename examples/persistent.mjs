import { ActorSystem, LmdbStore, PersistentActor, supervisor } from 'apiary-runtime';

class Account extends PersistentActor {
  persistenceId = 'account-42';
  initialState() {
    return { balance: 0 };
  }
  applyEvent(state, event) {
    return { balance: state.balance + event.amount }; // also runs on replay: no side effects
  }
  async receive(msg) {
    if (msg.type === 'deposit') await this.persist({ amount: msg.amount }); // durable, then applied
    if (msg.type === 'crash') throw new Error('agent crashed');
    return this.state.balance; // the reply leaves only after the event is on disk
  }
}

const store = await LmdbStore.open('./apiary-data/example'); // one LMDB directory per node
const system = new ActorSystem({ store });
await system.spawn(supervisor({ intensity: 3, children: [{ id: 'account', actor: Account }] }), { name: 'bank' });

const account = system.at('/bank/account');
console.log(await account.ask({ type: 'deposit', amount: 10 })); // 10 (+15 on each later run)
await account.ask({ type: 'crash' }).catch((err) => console.log(err.code)); // ERR_ACTOR_FAILED
console.log(await account.ask({ type: 'deposit', amount: 5 })); // 15: the restart replayed the events
await system.stop();
await store.close();
