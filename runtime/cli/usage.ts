/**
 * How the `apiary` command explains itself and fails: the usage text of the command and of
 * each verb (printed by `--help`, exit 0), and the errors that become one line on stderr, no
 * stack trace. A {@link CliError} exits 1 (a node did not answer, a kill was refused) or 2
 * when `usage` is set; a {@link UsageError} always exits 2 (bad usage, a feature not
 * available).
 *
 * Owns: the words. Does not own parsing (each verb parses its own flags with node:util
 * parseArgs; main.ts turns parseArgs' errors into UsageErrors) or what a verb does.
 */

/** A failure to report as one line: exit code 1, or 2 when `usage` (the command was misused). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly usage = false,
    /** Printed as it is, one item per line (a list of bad config fields); else one line. */
    readonly list = false,
  ) {
    super(message);
  }
}

/** Bad usage: one line on stderr (a list: one line per item), exit code 2. */
export class UsageError extends CliError {
  constructor(message: string, list = false) {
    super(message, true, list);
  }
}

/** `apiary --help`: the verbs, one line each. */
export const USAGE = `usage: apiary <command> [options]

commands:
  start    run a node: the demo swarm, or the supervisor of a config module
  tree     print a running node's supervisor tree
  kill     make an actor on a running node exit abnormally (to watch its supervisor act)
  status   a running node's health, threads and cluster members
  bench    measure latency and throughput beside baselines and peers, or a running node
  tasks    a running node's durable tasks: list, show, retry, purge
  config   print the effective configuration and where each value came from (secrets masked)
  doctor   check what \`apiary start\` needs (ports, secret, TLS, seeds, clock skew, modules) and how to fix it
  backup   copy a node's embedded (LMDB) store into one file, while the node runs
  restore  make a node's embedded store from a backup file (into an empty directory)
  workflows  list a running node's durable workflow runs, show one, or send one a signal

apiary <command> --help   the options of one command
apiary --version          the installed version

Exit codes: 0 done, 1 a runtime failure, 2 bad usage.`;

/** `apiary VERB --help`: each verb's synopsis and options. */
export const VERB_USAGE = {
  start: `usage: apiary start [options]

Runs one node until SIGINT/SIGTERM (then stops the tree in reverse order and exits 0).
Without --config (and without apiary.config.js/.mjs in the current folder) it runs the demo swarm.

options:
  --config FILE          a module exporting { supervisor, options, setup? } (default export or
                         named), or JSON/YAML with app: ./tree.mjs; setup({ system, tasks, log })
                         runs once the tree runs (README: Configuration)
  --name NAME            the node's name (default: demo, or apiary with a config)
  --threads N            worker threads (default: one per core; 0 keeps everything on the main thread)
  --http HOST:PORT       the admin API (default 127.0.0.1:9464; port 0 picks a free one;
                         beyond loopback only with an admin token)
  --admin-token-file FILE   the admin API's bearer token (or APIARY_ADMIN_TOKEN): needed by
                         every request but the probes /health/live and /health/ready
  --admin-hosts a,b      Host names the admin API accepts besides loopback names and addresses
  --admin-origins URL,…  page origins the admin API accepts besides its own
  --listen HOST:PORT     accept node links (needs a secret; beyond loopback also TLS or --insecure)
  --advertise HOST:PORT  the address other nodes dial (default: the listen address; for 0.0.0.0,
                         this machine's first non-internal address)
  --seeds ws://HOST:PORT,...   join a cluster through any live seed (wss:// for TLS nodes;
                               dns:NAME:PORT: every address NAME resolves to)
  --secret-file FILE     the cluster secret (or APIARY_SECRET)
  --tls-cert FILE        this node's certificate (PEM): node links are wss://
  --tls-key FILE         its private key (PEM)
  --tls-ca FILE          the cluster's CA (PEM): peers must present certificates it signed (mutual TLS)
  --insecure             allow node links without a secret (loopback only) or ws:// beyond loopback
  --store SPEC           the persistence store: lmdb (./apiary-data/NAME), lmdb:DIR, or
                         redis://HOST:PORT (default: none); a corrupt or unreachable store: exit 1
  -h, --help             this text`,
  tree: `usage: apiary tree [--http HOST:PORT] [--admin-token-file FILE] [--json] [--watch]

Prints the supervisor tree of a running node (colour on a terminal unless NO_COLOR is set).

options:
  --http HOST:PORT   the node's admin API (default 127.0.0.1:9464)
  --admin-token-file FILE   the node's admin token (or APIARY_ADMIN_TOKEN)
  --json             exactly GET /tree's JSON
  --watch            print it again every second
  -h, --help         this text`,
  kill: `usage: apiary kill PATH [--http HOST:PORT] [--admin-token-file FILE] [--reason TEXT]

Makes the actor at PATH (e.g. /demo/monitoring/detector) exit abnormally; its supervisor decides what next.

options:
  --http HOST:PORT   the node's admin API (default 127.0.0.1:9464)
  --admin-token-file FILE   the node's admin token (or APIARY_ADMIN_TOKEN)
  --reason TEXT      the exit reason's message
  -h, --help         this text`,
  status: `usage: apiary status [--http HOST:PORT] [--admin-token-file FILE] [--json]

A running node's health, its threads and the cluster members it sees.

options:
  --http HOST:PORT   the node's admin API (default 127.0.0.1:9464)
  --admin-token-file FILE   the node's admin token (or APIARY_ADMIN_TOKEN)
  --json             exactly GET /health's JSON
  -h, --help         this text`,
  bench: `usage: apiary bench [SCENARIO...] [--json] [--quick] [--out FILE]
       apiary bench --http HOST:PORT [--admin-token-file FILE] [--path PATH] [--message JSON] [--kill] [--json] [--quick] [--out FILE]

Measures each SCENARIO (a name or prefix: in-thread, cross-thread, cross-node, spawn, restart,
ask-under-load, codec; none runs them all) beside its raw baseline and the peers (nact, comedy)
that are installed, and prints the table. With --http it measures a running node instead:
ask round trips (http-ask), and with --kill also kill → restart latency (http-kill-restart).

options:
  --json             the rows as JSON on stdout (notes go to stderr)
  --quick            fewer samples (seconds instead of about a minute)
  --out FILE         where the rows are written (default ./apiary-bench-results.json)
  --http HOST:PORT   measure the node whose admin API is there
  --admin-token-file FILE   its admin token (or APIARY_ADMIN_TOKEN)
  --path PATH        the actor to ask (default: the first running worker)
  --message JSON     the message to ask it (default "ping")
  --kill             also kill the actor and time its restart (it really restarts)
  -h, --help         this text`,
  tasks: `usage: apiary tasks list  [--queue Q] [--state S[,S…]] [--limit N] [--json]
       apiary tasks show  ID [--json]
       apiary tasks retry ID
       apiary tasks purge [ID] [--queue Q] [--state S[,S…]]
       (each also takes [--http HOST:PORT] [--admin-token-file FILE])

A running node's durable tasks (GET/POST /tasks of its admin API).
  list    tasks in submission order, with the counts by state
  show    one task: payload, attempts, lease, result or error, timestamps
  retry   queue a dead or failed task again (attempts back to 0)
  purge   delete one task, or every task matching (default: done, failed and dead ones)

options:
  --http HOST:PORT   the node's admin API (default 127.0.0.1:9464)
  --admin-token-file FILE   the node's admin token (or APIARY_ADMIN_TOKEN)
  --queue Q          only this queue
  --state S          only these states: queued, running, done, failed, dead
  --limit N          at most N tasks (default 100)
  --json             exactly the API's JSON
  -h, --help         this text`,
  config: `usage: apiary config [--config FILE] [start's flags] [--json]

Prints the configuration \`apiary start\` would run with the same flags, environment and config
file: each value and where it came from (flag, env, file, default); secrets masked.
Exit 0: valid; 2: bad usage or an invalid configuration (every bad field named).

options:
  --json             the values and their sources as JSON
  -h, --help         this text`,
  doctor: `usage: apiary doctor [--config FILE] [--name NAME] [--listen HOST:PORT] [--http HOST:PORT]
                     [--seeds ws(s)://HOST:PORT,...|dns:NAME:PORT] [--secret-file FILE] [--threads N]
                     [--tls-cert F --tls-key F [--tls-ca F]] [--insecure] [--json]

Checks what \`apiary start\` with the same flags needs (Node.js, ports, secret, TLS, seeds and
clock skew, worker modules, stores) and prints the fix for each failure.
Exit 0: nothing failed; 1: a check failed; 2: bad usage.

options:
  --json             the checks as JSON
  -h, --help         this text`,
  backup: `usage: apiary backup --out FILE (--store lmdb:DIR | --name NODE)

Copies the embedded store (every journal, snapshot, state and task) into FILE, consistently,
while the node keeps running: the copy holds every write committed before it started.
FILE must not exist. Redis stores are backed up with Redis's own RDB/AOF files.

options:
  --out FILE         the backup file (new)
  --store lmdb:DIR   the store's directory (as given to apiary start)
  --name NODE        or: the node's default data directory, ./apiary-data/NODE
  -h, --help         this text`,
  restore: `usage: apiary restore FILE (--store lmdb:DIR | --name NODE)

Makes the embedded store in DIR from FILE (made by apiary backup). FILE is checked first (a
corrupt or foreign file: exit 1, nothing written); DIR must not hold a store already — stop
its node and move the old store away first.

options:
  --store lmdb:DIR   where the store goes
  --name NODE        or: the node's default data directory, ./apiary-data/NODE
  -h, --help         this text`,
  workflows: `usage: apiary workflows list [--limit N] [--http HOST:PORT] [--admin-token-file FILE] [--json]
       apiary workflows show RUN [--http HOST:PORT] [--admin-token-file FILE] [--json]
       apiary workflows signal RUN NAME [--payload JSON] [--http HOST:PORT] [--admin-token-file FILE]

The durable workflow runs of a running node (its DurableWorkflows engine, registered with the
system): list them (id, definition, status, driven here, started, ended), show one (its input,
each step's state, result or error, timers, signals), or send one a signal (durable when this
returns; a step waiting for NAME takes it). Exit 1: no node answers, no such run, the run has
finished, or the node drives no durable workflows.

options:
  --limit N          list at most N runs (default 1000)
  --payload JSON     the signal's payload (default null)
  --json             exactly the admin API's JSON (GET /workflows, GET /workflows/RUN)
  --http HOST:PORT   the node's admin API (default 127.0.0.1:9464)
  --admin-token-file FILE  the admin token (else APIARY_ADMIN_TOKEN, APIARY_ADMIN_TOKEN_FILE)
  -h, --help         this text`,
} as const;

/** The verbs of the `apiary` command. */
export type Verb = keyof typeof VERB_USAGE;
