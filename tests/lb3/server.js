'use strict';
/*
 * A LoopBack 3 REST application for qwhere's real-server tests.
 *
 *   node server.js '{"connector": "postgresql", "database": {...}, "port": 0, "pageCap": 50}'
 *
 * (or the same JSON in $QWHERE_LB3_CONFIG).  connector: memory | postgresql | mysql;
 * database: {host, port, database, user, password} for the SQL connectors; port 0
 * picks a free one; pageCap (optional): no find answers more than this many
 * records, whatever the limit (count is unaffected).
 *
 * When ready it prints one line on stdout, {"listening": PORT}, and nothing else.
 * Errors go to stderr.  It listens on 127.0.0.1 only.
 *
 * REST (loopback.rest()) at /api: Jobs, Backends, Reservations (docs/rest.md) and
 * every model defined through the admin routes:
 *
 *   POST /__qwhere/define  {"name", "properties", "plural"?, "migrate"?: true}
 *        (re)define a model on the datasource, automigrate its table, expose it at
 *        /api/<plural>; the same name+properties again is a no-op -> {"plural", "defined"}
 *   POST /__qwhere/load    {"model", "records": [...]}
 *        delete every row of the model, insert the records in order -> {"count"}
 *   POST /__qwhere/config  {"pageCap": n | null}      -> {"pageCap"}
 *   GET  /__qwhere/info                               -> versions, settings, page cap
 *   GET  /__qwhere/columns?model=Name                 -> {"columns": {property: SQL type}}
 *
 * Admin errors answer {"error": {"statusCode", "name", "message", "code"}} like LoopBack.
 */

const loopback = require('loopback');

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------
function readConfig() {
  const text = process.argv[2] || process.env.QWHERE_LB3_CONFIG || '{}';
  let config;
  try {
    config = JSON.parse(text);
  } catch (err) {
    fatal('the configuration is not JSON: ' + err.message);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    fatal('the configuration must be a JSON object');
  }
  config.connector = config.connector || 'memory';
  if (!['memory', 'postgresql', 'mysql'].includes(config.connector)) {
    fatal('connector must be memory, postgresql or mysql, not ' + JSON.stringify(config.connector));
  }
  config.pageCap = checkCap(config.pageCap);
  if (config.pageCap instanceof Error) fatal(config.pageCap.message);
  return config;
}

function checkCap(cap) {
  if (cap === undefined || cap === null) return null;
  if (!Number.isInteger(cap) || cap < 1) {
    return new Error('pageCap must be a positive integer or null, not ' + JSON.stringify(cap));
  }
  return cap;
}

function fatal(message) {
  process.stderr.write('[lb3] ' + message + '\n');
  process.exit(2);
}

const config = readConfig();
const state = {pageCap: config.pageCap};

// Console output of the libraries goes to stderr: stdout carries only the ready line.
for (const method of ['log', 'info', 'debug']) {
  console[method] = console.error;
}

// ---------------------------------------------------------------------------
// Datasource
// ---------------------------------------------------------------------------
function dataSourceSettings() {
  const db = config.database || {};
  if (config.connector === 'memory') return {connector: 'memory'};
  const common = {
    host: db.host || '127.0.0.1',
    port: db.port,
    database: db.database,
    user: db.user,
    password: db.password || '',
  };
  if (config.connector === 'postgresql') {
    return Object.assign(common, {
      connector: require('loopback-connector-postgresql'),
      max: 5, // one pool for the whole process
    });
  }
  // loopback-connector-mysql derives the connection charset from `collation`
  // (a bare `charset: 'utf8mb4'` is overwritten with utf8).
  return Object.assign(common, {
    connector: require('loopback-connector-mysql'),
    collation: 'utf8mb4_general_ci',
    connectionLimit: 5,
  });
}

const app = loopback({localRegistry: true, loadBuiltinModels: false});
const ds = app.dataSource('db', dataSourceSettings());
ds.on('error', (err) => process.stderr.write('[lb3] datasource error: ' + err.message + '\n'));

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------
const BUILTIN = {
  Job: {
    plural: 'Jobs',
    properties: {
      id: {type: 'string', id: true, generated: false},
      name: {type: 'string'},
      status: {type: 'string'},
      creationDate: {type: 'date'},
      tags: {type: ['string']},
      backend: {type: {name: 'string'}},
      experimentTag: {type: 'string'},
      hubInfo: {type: 'object'},
      shots: {type: 'number'},
    },
  },
  Backend: {
    plural: 'Backends',
    properties: {
      name: {type: 'string', id: true, generated: false},
      configuration: {type: 'object'},
      status: {type: 'object'},
    },
  },
  Reservation: {
    plural: 'Reservations',
    properties: {
      id: {type: 'string', id: true, generated: false},
      backendName: {type: 'string'},
      initialDate: {type: 'date'},
      endDate: {type: 'date'},
      creationDate: {type: 'date'},
      mode: {type: 'string'},
      hubInfo: {type: 'object'},
    },
  },
};

const defined = new Map(); // name -> definition JSON

function capAccess(ctx, next) {
  // Runs after juggler has normalised the filter: limit is absent, 0 or a
  // positive integer here (a bad one was already answered with 400).  count
  // passes through this hook too, but only reads ctx.query.where.
  const cap = state.pageCap;
  if (cap !== null && ctx.query) {
    const limit = ctx.query.limit;
    if (!limit || limit > cap) ctx.query.limit = cap;
  }
  next();
}

function defineModel(name, properties, plural) {
  if (app.models[name]) app.deleteModelByName(name);
  const Model = app.registry.createModel({
    name,
    base: 'PersistedModel',
    properties,
    plural,
    idInjection: !Object.values(properties).some((p) => p && p.id),
  });
  Model.observe('access', capAccess);
  app.model(Model, {dataSource: ds, public: true});
  return Model;
}

async function define(name, properties, plural, migrate) {
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
    throw badRequest('"name" must be an identifier, not ' + JSON.stringify(name));
  }
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) {
    throw badRequest('"properties" must be an object');
  }
  if (plural !== undefined && (typeof plural !== 'string' || !/^[A-Za-z0-9_]+$/.test(plural))) {
    throw badRequest('"plural" must be a string of letters, digits and _');
  }
  const key = JSON.stringify({properties, plural: plural || null});
  if (defined.get(name) === key && app.models[name]) {
    return {plural: app.models[name].pluralModelName, defined: false};
  }
  defined.delete(name);
  const Model = defineModel(name, properties, plural);
  if (migrate !== false) await ds.automigrate([name]);
  defined.set(name, key);
  return {plural: Model.pluralModelName, defined: true};
}

// ---------------------------------------------------------------------------
// Loading records
// ---------------------------------------------------------------------------
const CHUNK = 500; // rows per INSERT (PostgreSQL allows 65535 parameters)

function rowsForDB(Model, records) {
  // What DataAccessObject.create hands the connector, record by record:
  // coerce through the model, sanitize, stringify objects and lists.
  const names = Object.keys(Model.definition.properties);
  return records.map((record, index) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw badRequest('record ' + index + ' is not an object');
    }
    const instance = new Model(record);
    const data = Model._forDB(Model._sanitizeData(instance.toObject(true), {}));
    // A multi-row INSERT takes its columns from the union of the rows' keys
    // and skips undefined values: give every row every column.
    for (const prop of names) {
      if (data[prop] === undefined) data[prop] = null;
    }
    return data;
  });
}

async function load(modelName, records) {
  const Model = app.models[modelName];
  if (!Model || !defined.has(modelName) && !BUILTIN[modelName]) {
    throw notFound('no model ' + JSON.stringify(modelName) + ' is defined');
  }
  if (!Array.isArray(records)) throw badRequest('"records" must be a list');
  await Model.destroyAll();
  if (records.length === 0) return 0;
  if (config.connector === 'memory') {
    // As the conformance bridge does: one create per record, in order.
    await Model.create(records);
    return records.length;
  }
  const rows = rowsForDB(Model, records);
  const connector = ds.connector;
  for (let start = 0; start < rows.length; start += CHUNK) {
    const chunk = rows.slice(start, start + CHUNK);
    await new Promise((resolve, reject) => {
      connector.createAll(modelName, chunk, {}, (err) => (err ? reject(err) : resolve()));
    });
  }
  return rows.length;
}

// ---------------------------------------------------------------------------
// Introspection
// ---------------------------------------------------------------------------
function execute(sql, params) {
  return new Promise((resolve, reject) => {
    ds.connector.execute(sql, params, (err, rows) => (err ? reject(err) : resolve(rows)));
  });
}

async function columns(modelName) {
  const Model = app.models[modelName];
  if (!Model) throw notFound('no model ' + JSON.stringify(modelName) + ' is defined');
  if (config.connector === 'memory') return {columns: {}};
  const connector = ds.connector;
  const table = connector.table(modelName);
  const byColumn = {};
  for (const prop of Object.keys(Model.definition.properties)) {
    byColumn[connector.column(modelName, prop)] = prop;
  }
  let rows;
  if (config.connector === 'postgresql') {
    rows = await execute(
      'SELECT column_name AS name, data_type AS type FROM information_schema.columns ' +
      'WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
      [connector.schema(modelName), table]);
  } else {
    rows = await execute(
      'SELECT column_name AS name, column_type AS type FROM information_schema.columns ' +
      'WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position',
      [table]);
  }
  const out = {};
  for (const row of rows) out[byColumn[row.name] || row.name] = row.type;
  return {columns: out};
}

async function info() {
  const out = {
    connector: config.connector,
    pageCap: state.pageCap,
    node: process.version,
    loopback: require('loopback/package.json').version,
    juggler: require('loopback-datasource-juggler/package.json').version,
  };
  if (config.connector === 'postgresql') {
    out.connectorVersion = require('loopback-connector-postgresql/package.json').version;
    const rows = await execute(
      'SELECT version() AS version, current_setting(\'lc_collate\') AS collation, ' +
      'current_setting(\'TimeZone\') AS timezone', []);
    Object.assign(out, rows[0]);
  } else if (config.connector === 'mysql') {
    out.connectorVersion = require('loopback-connector-mysql/package.json').version;
    const rows = await execute(
      'SELECT VERSION() AS version, @@collation_database AS collation, ' +
      '@@character_set_database AS charset, @@collation_connection AS connectionCollation, ' +
      '@@time_zone AS timezone', []);
    Object.assign(out, rows[0]);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Admin routes
// ---------------------------------------------------------------------------
function httpError(status, message, code) {
  const err = new Error(message);
  err.statusCode = status;
  if (code) err.code = code;
  return err;
}
const badRequest = (message) => httpError(400, message, 'BAD_REQUEST');
const notFound = (message) => httpError(404, message, 'NOT_FOUND');

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function errorBody(err) {
  if (Array.isArray(err)) err = err.find((e) => e != null) || new Error('unknown error');
  const status = err && Number.isInteger(err.statusCode) ? err.statusCode : 500;
  return {
    status,
    body: {
      error: {
        statusCode: status,
        name: (err && err.name) || 'Error',
        message: (err && err.message) || String(err),
        code: (err && err.code) || undefined,
      },
    },
  };
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(badRequest('the body is not JSON: ' + err.message));
      }
    });
  });
}

function admin(method, path, handler) {
  app[method]('/__qwhere/' + path, (req, res) => {
    const body = method === 'post' ? readJson(req) : Promise.resolve({});
    body
      .then((parsed) => {
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw badRequest('the body must be a JSON object');
        }
        return handler(parsed, req);
      })
      .then(
        (result) => sendJson(res, 200, result),
        (err) => {
          const {status, body} = errorBody(err);
          if (status >= 500) {
            process.stderr.write('[lb3] ' + path + ': ' + (err && err.stack || err) + '\n');
          }
          sendJson(res, status, body);
        });
  });
}

admin('post', 'define', (body) => define(body.name, body.properties, body.plural, body.migrate));
admin('post', 'load', async(body) => ({count: await load(body.model, body.records)}));
admin('post', 'config', async(body) => {
  const cap = checkCap(body.pageCap);
  if (cap instanceof Error) throw badRequest(cap.message);
  state.pageCap = cap;
  return {pageCap: state.pageCap};
});
admin('get', 'info', () => info());
admin('get', 'columns', (body, req) => columns(String(req.query.model)));

// ---------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------
// A production LoopBack answers a 5xx with only {"statusCode": 500, "message":
// "Internal Server Error"}; that body is kept, and the real reason (the
// database's message and code) travels in the X-Lb3-Error and X-Lb3-Error-Code
// headers (percent-encoded) for the tests, and to stderr.
function revealError(err, req, res, defaultHandler) {
  const first = Array.isArray(err) ? err.find((e) => e != null) : err;
  if (first && !res.headersSent) {
    const message = typeof first.message === 'string' ? first.message : String(first);
    res.setHeader('X-Lb3-Error', encodeURIComponent(message.slice(0, 2000)));
    if (first.code !== undefined) res.setHeader('X-Lb3-Error-Code', encodeURIComponent(String(first.code)));
    const status = first.statusCode || first.status || 500;
    if (!(status >= 400 && status < 500)) {
      process.stderr.write('[lb3] ' + req.method + ' ' + req.originalUrl + ': ' + message + '\n');
    }
  }
  defaultHandler();
}

app.set('remoting', {
  rest: {normalizeHttpPath: false, xml: false, handleErrors: true},
  errorHandler: {debug: false, log: false, handler: revealError},
  json: {strict: false, limit: '50mb'},
  urlencoded: {extended: true, limit: '50mb'},
});
app.use('/api', loopback.rest());
// LoopBack's JSON errors, without stack traces, logged to stderr only for 5xx.
app.use(function(err, req, res, next) {
  const {status, body} = errorBody(err);
  if (status >= 500) {
    process.stderr.write('[lb3] ' + req.method + ' ' + req.url + ': ' + (err.stack || err) + '\n');
  }
  sendJson(res, status, body);
});

async function main() {
  for (const [name, spec] of Object.entries(BUILTIN)) {
    defineModel(name, spec.properties, spec.plural);
  }
  // Non-destructive: creates missing tables, so a second app (another page
  // cap) on the same database keeps what the first one loaded.
  await ds.autoupdate(Object.keys(BUILTIN));
  const server = app.listen(config.port || 0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({listening: server.address().port}) + '\n');
  });
  server.on('error', (err) => fatal('listen failed: ' + err.message));
  // The pool's connections close with the process; the databases cope.
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => fatal('start-up failed: ' + (err && err.stack || err)));
