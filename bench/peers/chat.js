// chat.js — the load client for the test channel (POST /v1/test/messages,
// which answers with the agent's replies: README "Test channel").
//
//   node chat.js rate URL KEY RATE SECONDS TAG [WARMUP_SECONDS]
//       Open loop at a fixed rate (no wrk2 in Debian): request i is due at
//       t0 + i/RATE whatever happened before it; its latency is counted from
//       when it was due (so a stall is not hidden by the client waiting:
//       no coordinated omission) and, apart, from when it was sent. Each
//       message is the first turn of a new customer ("I want a refund for
//       order 1001": the agent looks the order up and asks for the email).
//       The first WARMUP_SECONDS (default 0) run at the same rate on the
//       same schedule but are not counted: a cold gateway compiles its
//       phrase tables and loads its scripts, and this client's JIT and
//       connection pool start cold; the counted SECONDS follow without a
//       pause. Every request, counted or not, must be answered.
//   node chat.js conv URL KEY N TAG ORDER_PREFIX
//       N whole refund conversations one after another, 4 turns each
//       (greeting, refund request, email, confirm button): the agent
//       verifies, refunds on the sandbox rail within the mandate, issues
//       the credit note and audits every step. Time per conversation =
//       the sum of its 4 request times. Orders ORDER_PREFIX0… must exist.
// Prints one JSON line.
'use strict';
const http = require('http');

const [mode, url, key] = process.argv.slice(2, 5);
const u = new URL(url);
// timeout: Node 20's agent applies the server's "Keep-Alive: timeout=5" to
// its idle sockets (retires them after 4 s) only when it has a timeout of its
// own (http.Agent keepSocketAlive); without one it keeps them until the
// server's close, and a request can go out on one lws is closing.
const agent = new http.Agent({ keepAlive: true, maxSockets: 512, timeout: 15000 });

function post(body) {
	return new Promise((resolve) => {
		const data = JSON.stringify(body);
		const req = http.request({ host: u.hostname, port: u.port, path: '/v1/test/messages', method: 'POST', agent,
			headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data),
				Authorization: `Bearer ${key}` } }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => { req.socket.lastUsed = Date.now();
				resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }); });
		});
		// a keep-alive socket the server closed while idle shows as a reused one (Node's docs)
		req.on('socket', (sock) => { req.idleSince = sock.lastUsed; });
		req.on('error', (e) => resolve({ status: 0, body: `${e}${req.reusedSocket ? ` (reused socket, idle ${
			req.idleSince ? Date.now() - req.idleSince : '?'} ms)` : ' (new socket)'}` }));
		req.setTimeout(15000, () => req.destroy(new Error('timeout')));
		req.end(data);
	});
}

function pct(sorted, p) {
	if (!sorted.length) return null;
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))];
}
function summary(arr) {
	const s = Float64Array.from(arr).sort();
	return { p50_ms: pct(s, 50), p90_ms: pct(s, 90), p99_ms: pct(s, 99), max_ms: s.length ? s[s.length - 1] : null };
}
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

async function rate(rateArg, secondsArg, tag, warmArg) {
	const r = parseFloat(rateArg), warm = Math.round(r * parseFloat(warmArg || '0'));
	const total = warm + Math.round(r * parseFloat(secondsArg));
	const fromDue = [], fromSent = [];
	let ok = 0, bad = 0, warmBad = 0, badStatus = {}, badIds = [], badBodies = [], i = 0, done = 0;
	const t0 = nowMs() + 50;
	await new Promise((finish) => {
		function fire() {
			const now = nowMs();
			while (i < total && t0 + i * 1000 / r <= now) {
				const due = t0 + i * 1000 / r, sent = nowMs();
				const n = i++;
				post({ user: `b${tag}-${n}`, text: 'Hi, I want a refund for order 1001', message_id: `m${tag}-${n}` })
					.then((res) => {
						const end = nowMs();
						if (n < warm) {
							if (res.status !== 200) warmBad++;
							if (++done === total) finish();
							return;
						}
						let good = res.status === 200;
						if (good) {
							try { good = JSON.parse(res.body).replies.length > 0; } catch (e) { good = false; }
						}
						if (good) ok++;
						else {
							bad++;
							badStatus[res.status] = (badStatus[res.status] || 0) + 1;
							if (badIds.length < 10) {
								badIds.push(`m${tag}-${n}`);
								badBodies.push(res.body.slice(0, 200));
							}
						}
						fromDue.push(end - due);
						fromSent.push(end - sent);
						if (++done === total) finish();
					});
			}
			if (i < total) setTimeout(fire, 1); // ~1 ms ticks: no busy loop stealing a core
		}
		fire();
	});
	const elapsed = (nowMs() - t0 - warm * 1000 / r) / 1000;
	return { mode: 'rate', target_rate: r, warmup_sent: warm, warmup_not_200: warmBad, sent: total - warm, ok, bad, bad_status: badStatus, bad_ids: badIds, bad_bodies: badBodies, achieved_rate: (total - warm) / elapsed,
		latency: summary(fromDue), service: summary(fromSent) };
}

async function conv(nArg, tag, prefix) {
	const n = parseInt(nArg, 10), totals = [], turns = [[], [], [], []];
	let complete = 0, failed = 0, lastFail = null;
	for (let k = 0; k < n; k++) {
		const user = `c${tag}-${k}`;
		const steps = [
			{ user, text: 'Hi' },
			{ user, text: `I want a refund for order ${prefix}${k}` },
			{ user, text: `bench${k}@example.com` },
			{ user, button: 'confirm_yes' },
		];
		let sum = 0, good = true, last = '';
		for (let s = 0; s < steps.length && good; s++) {
			const t = nowMs();
			const res = await post(steps[s]);
			const dt = nowMs() - t;
			sum += dt;
			turns[s].push(dt);
			good = res.status === 200;
			last = res.body;
		}
		// the last turn must have refunded and issued the credit note
		if (good && /re_sbx_/.test(last) && /NC-/.test(last)) {
			complete++;
			totals.push(sum);
		} else {
			failed++;
			lastFail = last.slice(0, 300);
		}
	}
	return { mode: 'conv', conversations: n, complete, failed, last_failure: lastFail, total: summary(totals),
		turns: turns.map(summary) };
}

(async () => {
	const a = process.argv.slice(5);
	const out = mode === 'rate' ? await rate(a[0], a[1], a[2], a[3]) : await conv(a[0], a[1], a[2]);
	process.stdout.write(JSON.stringify(out) + '\n');
	agent.destroy();
})();
