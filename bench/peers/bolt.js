// bolt.js — the peer for Slack events: a @slack/bolt app on its built-in
// HTTP receiver (HTTPReceiver), signature verification on (Bolt checks
// X-Slack-Signature and the five-minute X-Slack-Request-Timestamp window
// itself), a message listener that does nothing, and Bolt's ack — what a
// team starting a Slack bot writes first. Stores nothing, dedupes nothing.
//
// usage: BENCH_SLACK_SECRET=… node bolt.js PORT
'use strict';
const { App, LogLevel } = require('@slack/bolt');

const port = parseInt(process.argv[2], 10);
const app = new App({
	signingSecret: process.env.BENCH_SLACK_SECRET,
	// no network at start-up: a fixed authorization instead of auth.test
	authorize: async () => ({ botToken: 'xoxb-bench', botId: 'B0BENCH', botUserId: 'U0REDRESS' }),
	logLevel: LogLevel.ERROR,
	endpoints: '/webhooks/slack/events',
});
app.message(async () => {});

(async () => {
	await app.start({ port, host: '127.0.0.1' });
	console.log(`bolt listening on ${port}`);
})();
