'use strict';
/*
 * LoopBack conformance bridge.
 *
 * A long-running process that answers newline-delimited JSON requests on
 * stdin with newline-delimited JSON responses on stdout, one request at a
 * time and in order.  Each request runs a query through
 * loopback-datasource-juggler's memory connector, so the answers are what a
 * LoopBack server would select for the same JSON filter.
 *
 * Request (one JSON object per line):
 *   {"id": n,
 *    "properties": {...},          LoopBack property definitions
 *    "records": [...],             the full data set (replaces the previous one)
 *    "where": {...}, "order": ..., OR "filter": <any JSON>  (passed as-is to find)
 *    "count_where": {...}          instead of where/filter: Model.count(where)
 *    "regex": [[source, flags]], "strings": [...]   instead of the above: plain RegExps
 *    "revive": true}               optional: decode {"$regexp": {source, flags}}
 *                                  and {"$date": "..."} into RegExp / Date
 *
 * Response:
 *   {"id": n, "ids": [...], "warnings": [...]}          for find
 *   {"id": n, "count": k, "warnings": [...]}            for count
 *   {"id": n, "matches": [[i, ...] | {"error": "..."}]}  for regex (see runRegex)
 *   {"id": n, "error": {"status": <int|null>, "message": "...", "name": "...",
 *                       "code": <string|null>, "phase": "query"|"load"|"request"|"uncaught"},
 *    "warnings": [...]}
 *
 * Anything the library prints through console.*, process.emitWarning or
 * depd deprecations while a request runs is returned in "warnings"; stdout
 * carries nothing but responses.
 */

const readline = require('readline');
const util = require('util');

// ---------------------------------------------------------------------------
// Keep stdout for the protocol only.
// ---------------------------------------------------------------------------
const protocolWrite = process.stdout.write.bind(process.stdout);
const stderrWrite = process.stderr.write.bind(process.stderr);

// Any stray write to stdout goes to stderr instead.
process.stdout.write = function(chunk, encoding, callback) {
  return stderrWrite(chunk, encoding, callback);
};

let currentWarnings = null; // array while a request is running, else null

function capture(text) {
  if (currentWarnings !== null) {
    currentWarnings.push(text);
  } else {
    stderrWrite('[bridge] ' + text + '\n');
  }
}

for (const method of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
  console[method] = function(...args) {
    capture(util.format(...args));
  };
}

process.emitWarning = function(warning, ...rest) {
  let text;
  if (warning instanceof Error) {
    text = warning.name + ': ' + warning.message;
  } else {
    const type = typeof rest[0] === 'string' ?
      rest[0] :
      rest[0] && typeof rest[0] === 'object' && rest[0].type ?
        rest[0].type :
        'Warning';
    text = type + ': ' + String(warning);
  }
  capture(text);
};

// depd (used by juggler for deprecations) emits this event instead of
// writing to stderr when a listener is present.
process.on('deprecation', function(err) {
  capture('DeprecationWarning: ' + (err && err.message ? err.message : String(err)));
});

const juggler = require('loopback-datasource-juggler');

// ---------------------------------------------------------------------------
// Models: one memory datasource per distinct property definition.
// ---------------------------------------------------------------------------
const MODEL_NAME = 'Item';
const MAX_MODELS = 64;
const models = new Map(); // propertiesJson -> {Model, recordsJson}

function getModelEntry(propertiesJson, properties) {
  let entry = models.get(propertiesJson);
  if (entry !== undefined) {
    // refresh LRU position
    models.delete(propertiesJson);
    models.set(propertiesJson, entry);
    return entry;
  }
  const dataSource = new juggler.DataSource({connector: 'memory'});
  const Model = dataSource.define(MODEL_NAME, properties);
  entry = {Model, recordsJson: null};
  models.set(propertiesJson, entry);
  if (models.size > MAX_MODELS) {
    models.delete(models.keys().next().value);
  }
  return entry;
}

async function loadRecords(entry, records, recordsJson) {
  if (entry.recordsJson === recordsJson) return;
  entry.recordsJson = null; // stays null if loading fails part-way
  await entry.Model.destroyAll();
  if (records.length > 0) {
    await entry.Model.create(records);
  }
  entry.recordsJson = recordsJson;
}

// ---------------------------------------------------------------------------
// Optional decoding of JS-only values (RegExp, Date).
// ---------------------------------------------------------------------------
function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === '$regexp') {
    const spec = value.$regexp;
    return new RegExp(spec.source, spec.flags || '');
  }
  if (keys.length === 1 && keys[0] === '$date') {
    return new Date(value.$date);
  }
  const out = {};
  for (const key of keys) out[key] = revive(value[key]);
  return out;
}

// ---------------------------------------------------------------------------
// Request handling.
// ---------------------------------------------------------------------------
function describeError(err, phase) {
  if (Array.isArray(err)) {
    // create() with an array reports one slot per record; keep the first error.
    err = err.find((e) => e != null);
  }
  const isObj = err !== null && typeof err === 'object';
  const status = isObj ? err.statusCode || err.status : undefined;
  return {
    status: Number.isInteger(status) ? status : null,
    message: isObj && typeof err.message === 'string' ? err.message : String(err),
    name: isObj && typeof err.name === 'string' ? err.name : null,
    code: isObj && typeof err.code === 'string' ? err.code : null,
    phase,
  };
}

function errorPayload(err) {
  if (err !== null && typeof err === 'object' && 'loadError' in err) {
    return describeError(err.loadError, 'load');
  }
  if (err instanceof RequestError) return describeError(err, 'request');
  return describeError(err, 'query');
}

class RequestError extends Error {}

// {"regex": [[source, flags], ...], "strings": [...]}: which strings each RegExp matches
// (RegExp.prototype.test, as the memory connector's regexp runs), or its SyntaxError.
function runRegex(req) {
  if (!Array.isArray(req.regex) || !Array.isArray(req.strings)) {
    throw new RequestError('"regex" and "strings" must be arrays');
  }
  const matches = req.regex.map(([source, flags]) => {
    let re;
    try {
      re = new RegExp(source, flags);
    } catch (err) {
      return {error: String(err.message)};
    }
    const hits = [];
    req.strings.forEach((s, i) => {
      if (re.test(s)) hits.push(i);
    });
    return hits;
  });
  return {matches};
}

async function runQuery(req) {
  if ('regex' in req) return runRegex(req);
  if (req.properties === null || typeof req.properties !== 'object' ||
      Array.isArray(req.properties)) {
    throw new RequestError('"properties" must be an object');
  }
  if (!Array.isArray(req.records)) {
    throw new RequestError('"records" must be an array');
  }
  const propertiesJson = JSON.stringify(req.properties);
  const recordsJson = JSON.stringify(req.records);
  const entry = getModelEntry(propertiesJson, req.properties);
  try {
    await loadRecords(entry, req.records, recordsJson);
  } catch (err) {
    throw {loadError: err};
  }

  const Model = entry.Model;
  const maybeRevive = req.revive ? revive : (v) => v;

  if ('count_where' in req) {
    const count = await Model.count(maybeRevive(req.count_where));
    return {count};
  }

  let filter;
  if ('filter' in req) {
    filter = maybeRevive(req.filter);
  } else {
    filter = {};
    if ('where' in req) filter.where = maybeRevive(req.where);
    if ('order' in req && req.order !== null) filter.order = req.order;
  }
  const idName = Model.definition.idName() || 'id';
  const found = await Model.find(filter);
  return {ids: found.map((inst) => String(inst[idName]))};
}

function send(obj) {
  protocolWrite(JSON.stringify(obj) + '\n');
}

let current = null; // {id, settled, warnings} for the request in flight

function finish(state, payload) {
  if (state.settled) return;
  state.settled = true;
  currentWarnings = null;
  current = null;
  send(Object.assign({id: state.id}, payload, {warnings: state.warnings}));
}

function handleLine(line) {
  if (line.trim() === '') return Promise.resolve();
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    send({id: null, error: describeError(err, 'request'), warnings: []});
    return Promise.resolve();
  }
  const id = req !== null && typeof req === 'object' && 'id' in req ? req.id : null;
  const state = {id, settled: false, warnings: []};
  current = state;
  currentWarnings = state.warnings;
  return new Promise((resolve) => {
    state.resolve = resolve;
    Promise.resolve()
      .then(() => runQuery(req))
      .then(
        (result) => finish(state, result),
        (err) => finish(state, {error: errorPayload(err)}),
      )
      .then(resolve);
  });
}

// A throw from inside a library callback would otherwise leave the request
// hanging forever: answer it as an error and carry on with the next one.
function onUncaught(err) {
  const state = current;
  if (state === null) {
    stderrWrite('[bridge] uncaught outside a request: ' +
      (err && err.stack ? err.stack : String(err)) + '\n');
    return;
  }
  finish(state, {error: describeError(err, 'uncaught')});
  state.resolve();
}
process.on('uncaughtException', onUncaught);
process.on('unhandledRejection', onUncaught);

// Strictly sequential: each line waits for the previous one to finish.
let chain = Promise.resolve();
const rl = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
rl.on('line', (line) => {
  chain = chain.then(() => handleLine(line));
});
rl.on('close', () => {
  chain.then(() => process.exit(0));
});
