//! The Redis backend: Streams with consumer groups (XREADGROUP, XACK, XAUTOCLAIM) for events;
//! for each dispatch queue a ready sorted set (score = deadline), a leased sorted set
//! (score = lease expiry) and hashes for payloads, scores, lease tokens and attempts, changed
//! only by Lua scripts so every step is atomic. Scripts read the clock with `TIME`, so all
//! workers agree on lease expiry whatever their own clocks say.

use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{
    StreamAutoClaimReply, StreamClaimReply, StreamId, StreamRangeReply, StreamReadReply,
};
use redis::{AsyncCommands, Script, Value};

use crate::{
    BusError, ClaimedJob, Delivery, DispatchQueue, EventStream, GroupLag, HandledMark, QueueJob,
};

/// Redis streams and queues under a key prefix.
#[derive(Clone)]
pub struct RedisBus {
    conn: Traced,
    prefix: String,
}

/// The connection, with a client span per command (or pipeline) named after it, per the
/// OpenTelemetry database conventions; exported only inside a call or a job (see
/// `telemetry`).
#[derive(Clone)]
struct Traced(ConnectionManager);

/// The command name of a packed command, e.g. `XADD` or `EVALSHA`.
fn command_name(cmd: &redis::Cmd) -> String {
    match cmd.args_iter().next() {
        Some(redis::Arg::Simple(name)) => String::from_utf8_lossy(name).to_ascii_uppercase(),
        _ => "UNKNOWN".to_owned(),
    }
}

/// A client span for a command; its name is worked out only when the span is recorded.
fn client_span(operation: impl FnOnce() -> String) -> tracing::Span {
    let span = tracing::info_span!(
        target: "steelcare_bus::redis_client",
        "redis",
        otel.name = tracing::field::Empty,
        otel.kind = "client",
        db.system = "redis",
        db.operation = tracing::field::Empty,
    );
    if !span.is_disabled() {
        let operation = operation();
        span.record("otel.name", operation.as_str());
        span.record("db.operation", operation.as_str());
    }
    span
}

impl redis::aio::ConnectionLike for Traced {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, Value> {
        let span = client_span(|| command_name(cmd));
        Box::pin(tracing::Instrument::instrument(
            self.0.req_packed_command(cmd),
            span,
        ))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<Value>> {
        let span = client_span(|| {
            let first = pipeline.cmd_iter().next().map(command_name);
            format!("PIPELINE {}", first.unwrap_or_default())
        });
        Box::pin(tracing::Instrument::instrument(
            self.0.req_packed_commands(pipeline, offset, count),
            span,
        ))
    }

    fn get_db(&self) -> i64 {
        self.0.get_db()
    }
}

/// A reply slower than this is an error, which the relay, the consumers and the queue retry.
/// redis-rs's default of 500 ms turned replies slowed by a loaded machine into errors (seen in
/// a full test run on two busy cores); a Redis that is gone is still noticed within seconds.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

const NOW_MS: &str =
    "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)";

impl RedisBus {
    /// Connects to `url` and checks the server answers.
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self, BusError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new().set_response_timeout(Some(RESPONSE_TIMEOUT));
        let mut conn = ConnectionManager::new_with_config(client, config).await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(RedisBus {
            conn: Traced(conn),
            prefix: key_prefix.to_owned(),
        })
    }

    fn stream_key(&self, stream: &str) -> String {
        format!("{}stream:{stream}", self.prefix)
    }

    fn queue_keys(&self, queue: &str) -> [String; 5] {
        let base = format!("{}queue:{queue}", self.prefix);
        [
            format!("{base}:ready"),
            format!("{base}:leased"),
            format!("{base}:payloads"),
            format!("{base}:scores"),
            format!("{base}:tokens"),
        ]
    }

    fn attempts_key(&self, queue: &str) -> String {
        format!("{}queue:{queue}:attempts", self.prefix)
    }

    /// `XINFO GROUPS` of a stream key: one reply per group (none when the stream does not
    /// exist).
    async fn group_infos(&self, key: &str) -> Result<Vec<Value>, BusError> {
        let mut conn = self.conn.clone();
        let groups: Result<Value, redis::RedisError> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(key)
            .query_async(&mut conn)
            .await;
        match groups {
            Ok(Value::Array(groups)) => Ok(groups),
            Ok(_) => Ok(Vec::new()),
            Err(err) if is_missing_key(&err) => Ok(Vec::new()),
            Err(err) => Err(err.into()),
        }
    }

    fn invoke<'s>(&self, script: &'s Script, queue: &str) -> redis::ScriptInvocation<'s> {
        let mut invocation = script.prepare_invoke();
        for key in self.queue_keys(queue) {
            invocation.key(key);
        }
        invocation.key(self.attempts_key(queue));
        invocation
    }
}

fn delivery(entry: StreamId, redelivered: bool) -> Result<Delivery, BusError> {
    let field = |name: &str| match entry.map.get(name) {
        Some(Value::BulkString(bytes)) => Ok(bytes.clone()),
        _ => Err(BusError::Malformed(format!(
            "entry {} has no field {name}",
            entry.id
        ))),
    };
    let event_id = String::from_utf8(field("event_id")?)
        .map_err(|_| BusError::Malformed(format!("entry {} event_id is not utf-8", entry.id)))?;
    let payload = field("payload")?;
    Ok(Delivery {
        entry_id: entry.id,
        event_id,
        payload,
        redelivered,
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[async_trait::async_trait]
impl EventStream for RedisBus {
    async fn publish(
        &self,
        stream: &str,
        event_id: &str,
        payload: &[u8],
    ) -> Result<String, BusError> {
        let mut conn = self.conn.clone();
        let id: String = redis::cmd("XADD")
            .arg(self.stream_key(stream))
            .arg("*")
            .arg("event_id")
            .arg(event_id)
            .arg("payload")
            .arg(payload)
            .query_async(&mut conn)
            .await?;
        Ok(id)
    }

    async fn publish_all(
        &self,
        messages: &[crate::OutgoingMessage<'_>],
    ) -> Result<Vec<String>, BusError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for m in messages {
            pipe.cmd("XADD")
                .arg(self.stream_key(m.stream))
                .arg("*")
                .arg("event_id")
                .arg(m.event_id)
                .arg("payload")
                .arg(m.payload);
        }
        let mut conn = self.conn.clone();
        Ok(pipe.query_async(&mut conn).await?)
    }

    async fn ensure_group(&self, stream: &str, group: &str) -> Result<(), BusError> {
        let mut conn = self.conn.clone();
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.stream_key(stream))
            .arg(group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created {
            Err(err) if err.code() == Some("BUSYGROUP") => Ok(()),
            other => Ok(other?),
        }
    }

    async fn read_new(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<Delivery>, BusError> {
        let mut conn = self.conn.clone();
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(self.stream_key(stream))
            .arg(">")
            .query_async(&mut conn)
            .await?;
        reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(|entry| delivery(entry, false))
            .collect()
    }

    async fn ack(&self, stream: &str, group: &str, entry_ids: &[String]) -> Result<u64, BusError> {
        if entry_ids.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn.clone();
        Ok(conn.xack(self.stream_key(stream), group, entry_ids).await?)
    }

    async fn claim_stale(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Delivery>, BusError> {
        let mut conn = self.conn.clone();
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(self.stream_key(stream))
            .arg(group)
            .arg(consumer)
            .arg(millis(min_idle))
            .arg("0-0")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut conn)
            .await?;
        reply
            .claimed
            .into_iter()
            .map(|entry| delivery(entry, true))
            .collect()
    }

    async fn pending_count(&self, stream: &str, group: &str) -> Result<u64, BusError> {
        let mut conn = self.conn.clone();
        let summary: Value = redis::cmd("XPENDING")
            .arg(self.stream_key(stream))
            .arg(group)
            .query_async(&mut conn)
            .await?;
        match summary {
            Value::Array(items) => match items.first() {
                Some(Value::Int(n)) => Ok(u64::try_from(*n).unwrap_or(0)),
                _ => Err(BusError::Malformed("XPENDING summary".to_owned())),
            },
            _ => Err(BusError::Malformed("XPENDING summary".to_owned())),
        }
    }

    async fn claim_from_gone(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        gone_after: Duration,
        count: usize,
    ) -> Result<Vec<Delivery>, BusError> {
        let key = self.stream_key(stream);
        let mut conn = self.conn.clone();
        let consumers: Value = match redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(&key)
            .arg(group)
            .query_async(&mut conn)
            .await
        {
            Ok(consumers) => consumers,
            // No stream (a first start, or the relay dropped it to publish again): no group
            // either, and the consumer creates it at once, as after NOGROUP.
            Err(err) if err.detail() == Some("no such key") => {
                return Err(BusError::NoGroup {
                    stream: stream.to_owned(),
                    group: group.to_owned(),
                });
            }
            Err(err) => return Err(err.into()),
        };
        let Value::Array(consumers) = consumers else {
            return Ok(Vec::new());
        };
        let mut claimed = Vec::new();
        for info in &consumers {
            let Some(name) = reply_string(reply_field(info, "name")) else {
                continue;
            };
            let idle = u64::try_from(reply_int(reply_field(info, "idle"))).unwrap_or(0);
            if name == consumer
                || reply_int(reply_field(info, "pending")) == 0
                || idle < millis(gone_after)
            {
                continue;
            }
            let ids = self.pending_of(&key, group, Some(&name), count).await?;
            if ids.is_empty() {
                continue;
            }
            let reply: StreamClaimReply = redis::cmd("XCLAIM")
                .arg(&key)
                .arg(group)
                .arg(consumer)
                .arg(0)
                .arg(&ids)
                .query_async(&mut conn)
                .await?;
            tracing::warn!(stream, group, gone = %name, idle_ms = idle, claimed = reply.ids.len(), "took over the deliveries of a consumer that is gone");
            for entry in reply.ids {
                claimed.push(delivery(entry, true)?);
            }
            // Forget the consumer; it has nothing pending any more.
            let _: Result<i64, _> = redis::cmd("XGROUP")
                .arg("DELCONSUMER")
                .arg(&key)
                .arg(group)
                .arg(&name)
                .query_async(&mut conn)
                .await;
        }
        Ok(claimed)
    }

    async fn begin_epoch(&self) -> Result<bool, BusError> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.epoch_key())
            .arg(uuid::Uuid::now_v7().to_string())
            .arg("NX")
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }

    async fn publish_in_epoch(
        &self,
        messages: &[crate::OutgoingMessage<'_>],
    ) -> Result<Option<Vec<String>>, BusError> {
        if messages.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let mut invocation = PUBLISH_IN_EPOCH_SCRIPT.prepare_invoke();
        invocation.key(self.epoch_key());
        for m in messages {
            invocation
                .key(self.stream_key(m.stream))
                .arg(m.event_id)
                .arg(m.payload);
        }
        let mut conn = self.conn.clone();
        Ok(invocation.invoke_async(&mut conn).await?)
    }

    async fn stream_len(&self, stream: &str) -> Result<u64, BusError> {
        let mut conn = self.conn.clone();
        Ok(conn.xlen(self.stream_key(stream)).await?)
    }

    async fn drop_stream(&self, stream: &str) -> Result<(), BusError> {
        let mut conn = self.conn.clone();
        let _: i64 = conn.del(self.stream_key(stream)).await?;
        Ok(())
    }

    async fn group_lags(&self, stream: &str) -> Result<Vec<GroupLag>, BusError> {
        let groups = self.group_infos(&self.stream_key(stream)).await?;
        Ok(groups
            .iter()
            .filter_map(|info| {
                Some(GroupLag {
                    group: reply_string(reply_field(info, "name"))?,
                    pending: u64::try_from(reply_int(reply_field(info, "pending"))).unwrap_or(0),
                    // Nil when Redis cannot tell (entries deleted past the group's position).
                    lag: u64::try_from(reply_int(reply_field(info, "lag"))).unwrap_or(0),
                })
            })
            .collect())
    }

    async fn handled_by_all(&self, stream: &str) -> Result<Option<HandledMark>, BusError> {
        let key = self.stream_key(stream);
        let mut conn = self.conn.clone();
        let groups = self.group_infos(&key).await?;
        let mut names = Vec::new();
        // The bound up to which every group has acknowledged: (entry id, exclusive).
        let mut bound: Option<(String, bool)> = None;
        for info in &groups {
            let Some(name) = reply_string(reply_field(info, "name")) else {
                continue;
            };
            let group_bound = if reply_int(reply_field(info, "pending")) > 0 {
                match self
                    .pending_of(&key, &name, None, 1)
                    .await?
                    .into_iter()
                    .next()
                {
                    Some(oldest) => (oldest, true),
                    None => continue,
                }
            } else {
                (
                    reply_string(reply_field(info, "last-delivered-id"))
                        .unwrap_or_else(|| "0-0".to_owned()),
                    false,
                )
            };
            names.push(name);
            let lower = match &bound {
                None => true,
                Some((id, exclusive)) => {
                    let (a, b) = (entry_order(&group_bound.0), entry_order(id));
                    a < b || (a == b && group_bound.1 && !exclusive)
                }
            };
            if lower {
                bound = Some(group_bound);
            }
        }
        let Some((id, exclusive)) = bound else {
            return Ok(Some(HandledMark {
                groups: names,
                last_event_id: None,
            }));
        };
        let start = if exclusive { format!("({id}") } else { id };
        let entries: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&key)
            .arg(start)
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await?;
        let last_event_id = match entries.ids.into_iter().next() {
            Some(entry) => Some(delivery(entry, false)?.event_id),
            None => None,
        };
        Ok(Some(HandledMark {
            groups: names,
            last_event_id,
        }))
    }
}

/// A stream entry id `ms-seq` as a number pair, for ordering.
fn entry_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// A field of a Redis reply given as a flat list or a map of name/value pairs.
fn reply_field<'v>(entry: &'v Value, name: &str) -> Option<&'v Value> {
    match entry {
        Value::Array(items) => items
            .chunks(2)
            .find(|pair| {
                matches!(&pair[0], Value::BulkString(b) if b == name.as_bytes())
                    || matches!(&pair[0], Value::SimpleString(s) if s == name)
            })
            .and_then(|pair| pair.get(1)),
        Value::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| {
                matches!(k, Value::BulkString(b) if b == name.as_bytes())
                    || matches!(k, Value::SimpleString(s) if s == name)
            })
            .map(|(_, v)| v),
        _ => None,
    }
}

fn reply_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

fn reply_int(value: Option<&Value>) -> i64 {
    match value {
        Some(Value::Int(n)) => *n,
        other => reply_string(other)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    }
}

fn is_missing_key(err: &redis::RedisError) -> bool {
    let text = err.to_string();
    text.contains("no such key") || err.code() == Some("ERR") && text.contains("no such key")
}

impl RedisBus {
    fn epoch_key(&self) -> String {
        format!("{}epoch", self.prefix)
    }

    /// The ids of the entries pending for `consumer` in `group`, oldest first.
    async fn pending_of(
        &self,
        key: &str,
        group: &str,
        consumer: Option<&str>,
        count: usize,
    ) -> Result<Vec<String>, BusError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("XPENDING");
        cmd.arg(key).arg(group).arg("-").arg("+").arg(count);
        if let Some(consumer) = consumer {
            cmd.arg(consumer);
        }
        let reply: Value = cmd.query_async(&mut conn).await?;
        let Value::Array(rows) = reply else {
            return Ok(Vec::new());
        };
        Ok(rows
            .iter()
            .filter_map(|row| match row {
                Value::Array(fields) => reply_string(fields.first()),
                _ => None,
            })
            .collect())
    }
}

// KEYS: ready, leased, payloads, scores, tokens, attempts. ARGV: id, payload, score per job;
// answers 1 for each job added, 0 for one already queued or leased.
const ENQUEUE_ALL: &str = r"
local added = {}
for i = 1, #ARGV, 3 do
  local id = ARGV[i]
  if redis.call('HEXISTS', KEYS[3], id) == 1 then
    added[#added + 1] = 0
  else
    redis.call('HSET', KEYS[3], id, ARGV[i + 1])
    redis.call('HSET', KEYS[4], id, ARGV[i + 2])
    redis.call('ZADD', KEYS[1], ARGV[i + 2], id)
    added[#added + 1] = 1
  end
end
return added";

// ARGV: lease in ms, token, how many at most. Expired leases go back first; answers
// {id, payload, score, attempts} per job claimed, lowest score first.
const CLAIM_BODY: &str = r"
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[4], id), id)
end
local claimed = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), id)
  redis.call('HSET', KEYS[5], id, ARGV[2])
  local attempts = redis.call('HINCRBY', KEYS[6], id, 1)
  claimed[#claimed + 1] = {id, redis.call('HGET', KEYS[3], id), redis.call('HGET', KEYS[4], id), attempts}
end
return claimed";

// ARGV: id, token per job; answers 1 for each job removed, 0 for one whose lease was lost.
const ACK_ALL: &str = r"
local done = {}
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[5], id) == ARGV[i + 1] then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('HDEL', KEYS[5], id)
    redis.call('HDEL', KEYS[6], id)
    done[#done + 1] = 1
  else
    done[#done + 1] = 0
  end
end
return done";

const RELEASE: &str = r"
if redis.call('HGET', KEYS[5], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1";

const EXTEND_BODY: &str = r"
if redis.call('HGET', KEYS[5], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1";

const RESCORE: &str = r"
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
return 1";

// KEYS: epoch, then one stream per message; ARGV: event id and payload per message.
const PUBLISH_IN_EPOCH: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local ids = {}
for i = 2, #KEYS do
  ids[#ids + 1] = redis.call('XADD', KEYS[i], '*', 'event_id', ARGV[2 * i - 3], 'payload', ARGV[2 * i - 2])
end
return ids";

static PUBLISH_IN_EPOCH_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(PUBLISH_IN_EPOCH));
static RESCORE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RESCORE));
static ENQUEUE_ALL_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(ENQUEUE_ALL));
static CLAIM_SCRIPT: LazyLock<Script> = LazyLock::new(|| with_clock(CLAIM_BODY));
static ACK_ALL_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(ACK_ALL));
static RELEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE));
static EXTEND_SCRIPT: LazyLock<Script> = LazyLock::new(|| with_clock(EXTEND_BODY));

fn with_clock(body: &str) -> Script {
    Script::new(&format!("{NOW_MS}\n{body}"))
}

#[async_trait::async_trait]
impl DispatchQueue for RedisBus {
    async fn enqueue_all(&self, queue: &str, jobs: &[QueueJob<'_>]) -> Result<Vec<bool>, BusError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.invoke(&ENQUEUE_ALL_SCRIPT, queue);
        for job in jobs {
            invocation.arg(job.job_id).arg(job.payload).arg(job.score);
        }
        let mut conn = self.conn.clone();
        let added: Vec<i64> = invocation.invoke_async(&mut conn).await?;
        Ok(added.into_iter().map(|a| a == 1).collect())
    }

    async fn claim_up_to(
        &self,
        queue: &str,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<ClaimedJob>, BusError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let token = uuid::Uuid::new_v4().to_string();
        let reply: Vec<(String, Vec<u8>, i64, u32)> = self
            .invoke(&CLAIM_SCRIPT, queue)
            .arg(millis(lease))
            .arg(&token)
            .arg(max)
            .invoke_async(&mut conn)
            .await?;
        Ok(reply
            .into_iter()
            .map(|(job_id, payload, score, attempts)| ClaimedJob {
                job_id,
                payload,
                score,
                lease_token: token.clone(),
                attempts,
            })
            .collect())
    }

    async fn ack_all(&self, queue: &str, held: &[(&str, &str)]) -> Result<Vec<bool>, BusError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.invoke(&ACK_ALL_SCRIPT, queue);
        for (job_id, token) in held {
            invocation.arg(*job_id).arg(*token);
        }
        let mut conn = self.conn.clone();
        let done: Vec<i64> = invocation.invoke_async(&mut conn).await?;
        Ok(done.into_iter().map(|d| d == 1).collect())
    }

    async fn release(
        &self,
        queue: &str,
        job_id: &str,
        lease_token: &str,
        score: i64,
    ) -> Result<bool, BusError> {
        let mut conn = self.conn.clone();
        let done: i64 = self
            .invoke(&RELEASE_SCRIPT, queue)
            .arg(job_id)
            .arg(lease_token)
            .arg(score)
            .invoke_async(&mut conn)
            .await?;
        Ok(done == 1)
    }

    async fn extend_lease(
        &self,
        queue: &str,
        job_id: &str,
        lease_token: &str,
        lease: Duration,
    ) -> Result<bool, BusError> {
        let mut conn = self.conn.clone();
        let done: i64 = self
            .invoke(&EXTEND_SCRIPT, queue)
            .arg(job_id)
            .arg(lease_token)
            .arg(millis(lease))
            .invoke_async(&mut conn)
            .await?;
        Ok(done == 1)
    }

    async fn rescore(&self, queue: &str, job_id: &str, score: i64) -> Result<bool, BusError> {
        let mut conn = self.conn.clone();
        let done: i64 = self
            .invoke(&RESCORE_SCRIPT, queue)
            .arg(job_id)
            .arg(score)
            .invoke_async(&mut conn)
            .await?;
        Ok(done == 1)
    }

    async fn contains(&self, queue: &str, job_id: &str) -> Result<bool, BusError> {
        let mut conn = self.conn.clone();
        let [_, _, payloads, _, _] = self.queue_keys(queue);
        Ok(conn.hexists(payloads, job_id).await?)
    }

    async fn contains_all(&self, queue: &str, job_ids: &[&str]) -> Result<Vec<bool>, BusError> {
        if job_ids.is_empty() {
            return Ok(Vec::new());
        }
        let [_, _, payloads, _, _] = self.queue_keys(queue);
        let mut pipe = redis::pipe();
        for job_id in job_ids {
            pipe.cmd("HEXISTS").arg(&payloads).arg(*job_id);
        }
        let mut conn = self.conn.clone();
        Ok(pipe.query_async(&mut conn).await?)
    }

    async fn len(&self, queue: &str) -> Result<u64, BusError> {
        let mut conn = self.conn.clone();
        let [_, _, payloads, _, _] = self.queue_keys(queue);
        Ok(conn.hlen(payloads).await?)
    }
}
