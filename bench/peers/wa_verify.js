// wa_verify.js — the peer for WhatsApp webhooks: a bare Node http server that
// verifies X-Hub-Signature-256 and acknowledges, the pattern of Meta's
// webhook examples (raw body → crypto.createHmac('sha256', app_secret) →
// timingSafeEqual → 200). It stores nothing, dedupes nothing: a message it
// acks is lost if the process dies. Single process, as the examples run.
//
// usage: BENCH_WA_SECRET=… node wa_verify.js PORT
'use strict';
const http = require('http');
const crypto = require('crypto');

const secret = process.env.BENCH_WA_SECRET;
const port = parseInt(process.argv[2], 10);

const server = http.createServer((req, res) => {
	if (req.method !== 'POST' || req.url !== '/webhooks/whatsapp') {
		res.writeHead(404).end();
		return;
	}
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const body = Buffer.concat(chunks);
		const sig = req.headers['x-hub-signature-256'] || '';
		const want = 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');
		if (sig.length !== want.length || !crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(want))) {
			res.writeHead(401).end();
			return;
		}
		let doc;
		try {
			doc = JSON.parse(body);
		} catch (e) {
			res.writeHead(400).end();
			return;
		}
		if (!doc || typeof doc !== 'object') {
			res.writeHead(400).end();
			return;
		}
		res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
	});
});
server.keepAliveTimeout = 75000;
server.listen(port, '127.0.0.1', () => console.log(`wa_verify listening on ${port}`));
