// sio_idle.js — the peer for idle web chat sessions on socket.io: the same
// hello → welcome exchange as ws_idle.js, one session object per socket,
// WebSocket transport (clients connect with transports: ['websocket']).
//
// usage: node sio_idle.js PORT
'use strict';
const { Server } = require('socket.io');
const crypto = require('crypto');

const port = parseInt(process.argv[2], 10);
const http = require('http').createServer();
const io = new Server(http, { path: '/webchat/sio', serveClient: false, transports: ['websocket'] });
const sessions = new Map();
io.on('connection', (socket) => {
	socket.on('hello', (f) => {
		const token = crypto.randomBytes(16).toString('hex');
		sessions.set(token, { token, locale: (f && f.locale) || 'en', socket });
		socket.on('disconnect', () => sessions.delete(token));
		socket.emit('welcome', { session: token, history: [] });
	});
});
http.listen(port, '127.0.0.1', () => console.log(`sio_idle listening on ${port}`));
