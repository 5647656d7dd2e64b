#!/usr/bin/env node
// gen.js — pools of signed webhook requests for wrk (bench/wrk/pool.lua).
//
// wrk's Lua has no HMAC, so the requests are signed here, ahead of the run,
// with Node's crypto (the same createHmac call Meta's and Slack's examples
// use), from the real platform payloads in tests/data/, padded to about
// 1 KB. Every request carries its own message id (WhatsApp wamid, Slack
// event ts + event_id), unique across the whole pool, so dedupe never
// short-circuits: the gateway really appends each one.
//
// usage: node gen.js KIND OUT_PREFIX THREADS PER_THREAD HOST:PORT PATH RUN_TAG [ONLY]
//   KIND        whatsapp | slack
//   OUT_PREFIX  writes OUT_PREFIX.0 … OUT_PREFIX.(THREADS-1), one per wrk thread
//   ONLY        (optional) write only that thread's file (run one gen per core)
// Each file is a sequence of records "<byte length>\n<raw HTTP/1.1 request>".
// Secrets come from the environment: BENCH_WA_SECRET, BENCH_SLACK_SECRET.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [kind, outPrefix, threadsArg, perArg, hostport, urlPath, runTag, onlyArg] = process.argv.slice(2);
if (!runTag || !['whatsapp', 'slack'].includes(kind)) {
	console.error('usage: node gen.js whatsapp|slack OUT_PREFIX THREADS PER_THREAD HOST:PORT PATH RUN_TAG');
	process.exit(2);
}
const threads = parseInt(threadsArg, 10), perThread = parseInt(perArg, 10);
const TARGET_BODY = 1024;
const data = path.join(__dirname, '..', 'tests', 'data');

function pad(s, n) {
	// a customer who writes at length: the text grows until the body is ~1 KB
	const words = ' my parcel arrived damaged and I would like my money back please';
	let out = s;
	while (out.length < n)
		out += words;
	return out.slice(0, Math.max(n, s.length));
}

function whatsappMaker() {
	const secret = process.env.BENCH_WA_SECRET;
	const tpl = JSON.parse(fs.readFileSync(path.join(data, 'whatsapp', 'text.json'), 'utf8')
		.replace('{{PHONE_NUMBER_ID}}', '106540352242922').replace('{{WAMID}}', 'X')
		.replace('{{TS}}', '1700000000'));
	const base = Buffer.byteLength(JSON.stringify(tpl));
	return (t, i) => {
		const doc = JSON.parse(JSON.stringify(tpl));
		const v = doc.entry[0].changes[0].value;
		// 2,000 customers, each with many messages (phone numbers are digits)
		const from = String(5511900000000 + ((t * perThread + i) % 2000));
		v.contacts[0].wa_id = from;
		const m = v.messages[0];
		m.from = from;
		m.id = `wamid.bench.${runTag}.${t}.${i}`;
		m.timestamp = String(Math.floor(Date.now() / 1000));
		m.text.body = pad(m.text.body, m.text.body.length + TARGET_BODY - base - m.id.length);
		const body = JSON.stringify(doc);
		const sig = crypto.createHmac('sha256', secret).update(body).digest('hex');
		return { body, headers: { 'X-Hub-Signature-256': `sha256=${sig}` } };
	};
}

function slackMaker() {
	const secret = process.env.BENCH_SLACK_SECRET;
	const raw = fs.readFileSync(path.join(data, 'slack', 'message_channel.json'), 'utf8')
		.replace('{{CLIENT_MSG_ID}}', 'x').replace(/\{\{TS\}\}/g, '1.1')
		.replace('{{EVENT_ID}}', 'Ev0').replace('{{EVENT_TIME}}', '1700000000');
	const tpl = JSON.parse(raw);
	const base = Buffer.byteLength(JSON.stringify(tpl));
	const now = Math.floor(Date.now() / 1000);
	return (t, i) => {
		const doc = JSON.parse(JSON.stringify(tpl));
		const ev = doc.event;
		// unique ts per event: seconds + a 6-digit sequence (Slack's own shape)
		const seq = t * perThread + i;
		const ts = `${now - 60 + Math.floor(seq / 1000000)}.${String(seq % 1000000).padStart(6, '0')}`;
		ev.ts = ev.event_ts = ts;
		ev.client_msg_id = crypto.randomUUID();
		// 2,000 customers, each in a direct message with the app (one
		// conversation each, as the WhatsApp pool's 2,000 phone numbers)
		const cust = (seq % 2000).toString(36).toUpperCase().padStart(4, '0');
		ev.user = `U0B${cust}`;
		ev.channel = `D0B${cust}`;
		ev.channel_type = 'im';
		doc.event_id = `Ev0${runTag.toUpperCase().replace(/[^A-Z0-9]/g, '')}${seq}`;
		doc.event_time = now;
		const grow = TARGET_BODY - base - 40;
		ev.text = pad(ev.text, ev.text.length + Math.floor(grow / 2));
		ev.blocks[0].elements[0].elements[0].text = ev.text;
		const body = JSON.stringify(doc);
		const sig = crypto.createHmac('sha256', secret).update(`v0:${now}:${body}`).digest('hex');
		return { body, headers: { 'X-Slack-Request-Timestamp': String(now), 'X-Slack-Signature': `v0=${sig}` } };
	};
}

const make = kind === 'whatsapp' ? whatsappMaker() : slackMaker();
let bodyBytes = 0;
let made = 0;
for (let t = 0; t < threads; t++) {
	if (onlyArg !== undefined && t !== parseInt(onlyArg, 10))
		continue;
	made += perThread;
	const fd = fs.openSync(`${outPrefix}.${t}`, 'w');
	const chunks = [];
	let pending = 0;
	for (let i = 0; i < perThread; i++) {
		const { body, headers } = make(t, i);
		let req = `POST ${urlPath} HTTP/1.1\r\nHost: ${hostport}\r\nContent-Type: application/json\r\n`;
		for (const [k, v] of Object.entries(headers))
			req += `${k}: ${v}\r\n`;
		req += `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
		const rec = Buffer.from(req);
		chunks.push(Buffer.from(`${rec.length}\n`), rec);
		pending += rec.length;
		bodyBytes += Buffer.byteLength(body);
		if (pending > (8 << 20)) {
			fs.writeSync(fd, Buffer.concat(chunks));
			chunks.length = 0;
			pending = 0;
		}
	}
	fs.writeSync(fd, Buffer.concat(chunks));
	fs.closeSync(fd);
}
process.stdout.write(JSON.stringify({ requests: made, body_bytes_avg: Math.round(bodyBytes / made) }) + '\n');
