/* redress web chat widget: a chat bubble that talks to the refund agent over
 * a WebSocket (protocol "redress.webchat.v1", README "Web chat").
 *
 * Embed with one tag; everything else is derived from it:
 *
 *   <script src="https://shop.example/webchat/widget.js" data-shop="Loja"
 *           data-color="#0a7" data-locale="pt-BR"></script>
 *
 * The socket is ws(s)://<host of src>/webchat/ws. Plain JavaScript (ES5 plus
 * WebSocket, URL and crypto.getRandomValues), no build step, no dependencies,
 * no request to anyone but the gateway. Every text from the agent or the
 * customer is inserted with textContent / createTextNode, never as HTML.
 *
 * Sessions: the server hands out a token in "welcome"; it is kept in
 * localStorage ("redress.session") and sent in the next "hello", which
 * resumes the conversation and brings its history. Messages get random
 * client ids and stay queued until the server acks them, so a message typed
 * while disconnected (or sent just before a drop) is sent again after the
 * reconnect with the same id, and the server processes it once. */
(function () {
	"use strict";

	if (window.__redressWebchat) {
		return; /* embedded twice: one bubble is enough */
	}
	window.__redressWebchat = { version: 1 };

	var PROTOCOL = "redress.webchat.v1";
	var STORAGE_KEY = "redress.session";
	var BACKOFF_MIN_MS = 500;       /* first reconnect delay, doubled on each failure */
	var BACKOFF_MAX_MS = 30000;     /* cap */
	var MAX_FRAME_BYTES = 4096;     /* the server's default [webchat] max_message_bytes */
	var TYPING_SEND_EVERY_MS = 3000;
	var TYPING_SHOW_MS = 20000;     /* hide the agent's typing indicator if no reply comes */
	var DEFAULT_COLOR = "#0a7";

	/* ------------------------------------------------------------ strings */

	var STRINGS = {
		"en": {
			title: "Help with your order", open: "Open chat", close: "Close chat",
			placeholder: "Type a message…", input: "Message", send: "Send",
			connecting: "Connecting…", reconnecting: "Reconnecting…", online: "Online",
			typing: "typing…", unread: "{n} unread", failed: "Not sent",
			too_large: "Not sent: the message is too long.",
			rate_limited: "Not sent: too many messages. Wait a minute and try again.",
			busy: "Too many chats from your network right now. We will reconnect in a moment."
		},
		"pt-BR": {
			title: "Ajuda com seu pedido", open: "Abrir chat", close: "Fechar chat",
			placeholder: "Digite uma mensagem…", input: "Mensagem", send: "Enviar",
			connecting: "Conectando…", reconnecting: "Reconectando…", online: "Online",
			typing: "digitando…", unread: "{n} não lidas", failed: "Não enviada",
			too_large: "Não enviada: a mensagem é longa demais.",
			rate_limited: "Não enviada: muitas mensagens. Aguarde um minuto e tente de novo.",
			busy: "Muitas conversas da sua rede agora. Vamos reconectar em instantes."
		},
		"es": {
			title: "Ayuda con tu pedido", open: "Abrir chat", close: "Cerrar chat",
			placeholder: "Escribe un mensaje…", input: "Mensaje", send: "Enviar",
			connecting: "Conectando…", reconnecting: "Reconectando…", online: "En línea",
			typing: "escribiendo…", unread: "{n} sin leer", failed: "No enviado",
			too_large: "No enviado: el mensaje es demasiado largo.",
			rate_limited: "No enviado: demasiados mensajes. Espera un minuto e inténtalo de nuevo.",
			busy: "Demasiados chats desde tu red ahora. Volveremos a conectar en un momento."
		}
	};

	/* "pt-BR", "pt_br", "pt" → "pt-BR"; "es-MX" → "es"; anything else → "en". */
	function pickLocale(want) {
		var w = String(want || "").replace("_", "-").toLowerCase();
		var names = Object.keys(STRINGS);
		for (var i = 0; i < names.length; i++) {
			if (names[i].toLowerCase() === w) return names[i];
		}
		var lang = w.split("-")[0];
		for (var j = 0; j < names.length; j++) {
			if (names[j].toLowerCase().split("-")[0] === lang) return names[j];
		}
		return "en";
	}

	/* ------------------------------------------------------------ configuration */

	/* The tag that loaded us: currentScript while we run, else the last tag
	 * whose src ends in /webchat/widget.js. */
	function findScript() {
		if (document.currentScript) return document.currentScript;
		var all = document.getElementsByTagName("script");
		for (var i = all.length - 1; i >= 0; i--) {
			if (/\/webchat\/widget\.js(\?|#|$)/.test(all[i].src || "")) return all[i];
		}
		return null;
	}

	var script = findScript();
	var src = new URL((script && script.src) || "/webchat/widget.js", location.href);
	var data = (script && script.dataset) || {};
	var config = {
		url: (src.protocol === "https:" ? "wss://" : "ws://") + src.host + "/webchat/ws",
		shop: (data.shop || "").trim() || src.hostname,
		color: safeColor(data.color),
		locale: pickLocale(data.locale || document.documentElement.lang || navigator.language)
	};
	var T = STRINGS[config.locale];

	/* A colour the browser accepts as one, else the default: the value goes
	 * into a CSS custom property and must never carry anything else. */
	function safeColor(c) {
		c = String(c || "").trim();
		var ok = c && window.CSS && CSS.supports ? CSS.supports("color", c) : /^#[0-9a-f]{3,8}$/i.test(c);
		return ok && c.indexOf(";") < 0 && c.indexOf("}") < 0 ? c : DEFAULT_COLOR;
	}

	/* ------------------------------------------------------------ small helpers */

	/* el("div", "rdw-x", {role: "log"}, "text"): attributes and text only. */
	function el(tag, cls, attrs, text) {
		var n = document.createElement(tag);
		if (cls) n.className = cls;
		for (var k in attrs || {}) {
			if (Object.prototype.hasOwnProperty.call(attrs, k)) n.setAttribute(k, attrs[k]);
		}
		if (text != null) n.textContent = String(text);
		return n;
	}

	function randomId() {
		var b = new Uint8Array(12);
		(window.crypto || window.msCrypto).getRandomValues(b);
		var s = "c";
		for (var i = 0; i < b.length; i++) {
			s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
		}
		return s;
	}

	function utf8Length(s) {
		return window.TextEncoder ? new TextEncoder().encode(s).length : unescape(encodeURIComponent(s)).length;
	}

	/* localStorage may be missing or refuse (private modes, sandboxed frames). */
	function loadToken() {
		try {
			var t = window.localStorage.getItem(STORAGE_KEY);
			return t && /^[0-9a-f]{16,128}$/i.test(t) ? t : null;
		} catch (e) {
			return null;
		}
	}

	function saveToken(t) {
		try {
			window.localStorage.setItem(STORAGE_KEY, t);
		} catch (e) { /* the session then lasts as long as the page */ }
	}

	/* ------------------------------------------------------------ styles (injected once) */

	var STYLE = [
		".rdw-root,.rdw-root *{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
		".rdw-root{--rdw-color:" + DEFAULT_COLOR + ";position:fixed;right:20px;bottom:20px;z-index:2147483000;font-size:15px;line-height:1.4;color:#1d1d1f}",
		".rdw-bubble{position:relative;width:60px;height:60px;border-radius:50%;border:0;cursor:pointer;background:var(--rdw-color);color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;padding:0}",
		".rdw-bubble svg{width:30px;height:30px;fill:currentColor}",
		".rdw-bubble:focus-visible,.rdw-root button:focus-visible,.rdw-input:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}",
		".rdw-badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#d93025;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center}",
		".rdw-badge[hidden],.rdw-panel[hidden],.rdw-typing[hidden],.rdw-status:empty{display:none}",
		".rdw-panel{position:absolute;right:0;bottom:76px;width:370px;height:540px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.3);overflow:hidden}",
		".rdw-header{display:flex;align-items:center;gap:8px;padding:12px 14px;background:var(--rdw-color);color:#fff}",
		".rdw-heading{flex:1;min-width:0}",
		".rdw-shop{margin:0;font-size:16px;font-weight:700;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
		".rdw-sub{font-size:12px;opacity:.9}",
		".rdw-close{width:36px;height:36px;border:0;border-radius:50%;background:transparent;color:#fff;font-size:24px;line-height:1;cursor:pointer}",
		".rdw-close:hover{background:rgba(255,255,255,.2)}",
		".rdw-log{flex:1;overflow-y:auto;overflow-x:hidden;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}",
		".rdw-msg{max-width:85%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}",
		".rdw-msg--agent{align-self:flex-start;background:#fff;border:1px solid #e3e5e8;border-bottom-left-radius:4px}",
		".rdw-msg--customer{align-self:flex-end;background:var(--rdw-color);color:#fff;border-bottom-right-radius:4px}",
		".rdw-msg--pending{opacity:.6}",
		".rdw-msg--failed{opacity:.6;text-decoration:line-through}",
		".rdw-notice{align-self:center;max-width:95%;font-size:12px;color:#5f6368;text-align:center;overflow-wrap:anywhere}",
		".rdw-quick{align-self:flex-start;display:flex;flex-wrap:wrap;gap:6px;max-width:100%}",
		".rdw-quick button{border:1px solid var(--rdw-color);background:#fff;color:#1d1d1f;border-radius:16px;padding:6px 12px;font-size:14px;cursor:pointer;max-width:100%;overflow-wrap:anywhere}",
		".rdw-quick button:hover{background:#eef7f4}",
		".rdw-typing{padding:0 14px 6px;font-size:12px;color:#5f6368;background:#f6f7f9}",
		".rdw-form{display:flex;gap:8px;padding:10px;border-top:1px solid #e3e5e8;background:#fff}",
		".rdw-input{flex:1;min-width:0;padding:10px 12px;border:1px solid #c7cbd1;border-radius:20px;font-size:15px;color:#1d1d1f;background:#fff}",
		".rdw-send{border:0;border-radius:20px;padding:0 16px;background:var(--rdw-color);color:#fff;font-size:15px;font-weight:600;cursor:pointer}",
		"@media (max-width:480px){",
		".rdw-root{right:12px;bottom:12px}",
		".rdw-root.rdw-open{top:0;left:0;right:0;bottom:0}",
		".rdw-root.rdw-open .rdw-bubble{display:none}",
		".rdw-panel{position:fixed;top:0;left:0;right:0;bottom:0;width:auto;height:auto;max-height:none;border-radius:0}",
		"}",
		"@media (prefers-reduced-motion:no-preference){.rdw-panel{animation:rdw-in .15s ease-out}@keyframes rdw-in{from{opacity:0;transform:translateY(8px)}}}"
	].join("\n");

	function injectCss() {
		if (document.getElementById("rdw-style")) return;
		var s = el("style", null, { id: "rdw-style" });
		s.textContent = STYLE;
		(document.head || document.documentElement).appendChild(s);
	}

	/* ------------------------------------------------------------ the UI */

	var ui = {};            /* DOM nodes */
	var isOpen = false;
	var unread = 0;
	var typingTimer = null;

	/* A speech-bubble icon, built without innerHTML. */
	function icon() {
		var ns = "http://www.w3.org/2000/svg";
		var svg = document.createElementNS(ns, "svg");
		svg.setAttribute("viewBox", "0 0 24 24");
		svg.setAttribute("aria-hidden", "true");
		svg.setAttribute("focusable", "false");
		var path = document.createElementNS(ns, "path");
		path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z");
		svg.appendChild(path);
		return svg;
	}

	function build() {
		injectCss();
		var root = el("div", "rdw-root", { lang: config.locale });
		root.style.setProperty("--rdw-color", config.color);

		ui.bubble = el("button", "rdw-bubble", {
			type: "button", "aria-label": T.open, "aria-expanded": "false", "aria-controls": "rdw-panel"
		});
		ui.bubble.appendChild(icon());
		ui.badge = el("span", "rdw-badge", { "aria-hidden": "true", hidden: "" });
		ui.bubble.appendChild(ui.badge);

		ui.panel = el("div", "rdw-panel", {
			id: "rdw-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "rdw-shop", hidden: ""
		});
		var header = el("div", "rdw-header");
		var heading = el("div", "rdw-heading");
		heading.appendChild(el("h2", "rdw-shop", { id: "rdw-shop" }, config.shop));
		var sub = el("div", "rdw-sub", null, T.title);
		ui.status = el("span", "rdw-status", { role: "status" }); /* " · Reconnecting…" */
		sub.appendChild(ui.status);
		heading.appendChild(sub);
		ui.close = el("button", "rdw-close", { type: "button", "aria-label": T.close, title: T.close }, "×");
		header.appendChild(heading);
		header.appendChild(ui.close);

		ui.log = el("div", "rdw-log", { role: "log", "aria-live": "polite", "aria-label": T.title, tabindex: "0" });
		ui.typing = el("div", "rdw-typing", { "aria-live": "polite", hidden: "" }, config.shop + " " + T.typing);

		ui.form = el("form", "rdw-form", { autocomplete: "off" });
		ui.input = el("input", "rdw-input", {
			type: "text", "aria-label": T.input, placeholder: T.placeholder, maxlength: "1000", enterkeyhint: "send"
		});
		ui.send = el("button", "rdw-send", { type: "submit" }, T.send);
		ui.form.appendChild(ui.input);
		ui.form.appendChild(ui.send);

		ui.panel.appendChild(header);
		ui.panel.appendChild(ui.log);
		ui.panel.appendChild(ui.typing);
		ui.panel.appendChild(ui.form);
		root.appendChild(ui.panel);
		root.appendChild(ui.bubble);
		ui.root = root;
		document.body.appendChild(root);

		ui.bubble.addEventListener("click", function () { isOpen ? closePanel() : openPanel(); });
		ui.close.addEventListener("click", closePanel);
		ui.panel.addEventListener("keydown", function (e) {
			if (e.key === "Escape" || e.key === "Esc") {
				e.preventDefault();
				closePanel();
			}
		});
		ui.form.addEventListener("submit", function (e) {
			e.preventDefault(); /* Enter in the input submits the form */
			var text = ui.input.value.trim();
			if (text) {
				ui.input.value = "";
				sendMessage({ type: "message", text: text }, text);
			}
		});
		ui.input.addEventListener("input", sendTyping);
	}

	function openPanel() {
		isOpen = true;
		ui.panel.hidden = false;
		ui.root.classList.add("rdw-open");
		ui.bubble.setAttribute("aria-expanded", "true");
		setUnread(0);
		ui.log.scrollTop = ui.log.scrollHeight;
		ui.input.focus(); /* focus moves into the panel */
		connect();        /* first open: start the session */
	}

	function closePanel() {
		isOpen = false;
		ui.panel.hidden = true;
		ui.root.classList.remove("rdw-open");
		ui.bubble.setAttribute("aria-expanded", "false");
		ui.bubble.focus();
	}

	function setUnread(n) {
		unread = n;
		ui.badge.textContent = n > 99 ? "99+" : String(n);
		ui.badge.hidden = n === 0;
		ui.bubble.setAttribute("aria-label", n ? T.open + " (" + T.unread.replace("{n}", n) + ")" : T.open);
	}

	function setStatus(text) {
		ui.status.textContent = text ? " · " + text : "";
	}

	function scrollDown() {
		ui.log.scrollTop = ui.log.scrollHeight;
	}

	/* One message bubble. who: "customer" | "agent". ts: ms (or s) since the epoch. */
	function addMessage(who, text, ts) {
		var n = el("div", "rdw-msg rdw-msg--" + who, null, text);
		var t = Number(ts);
		if (t) n.setAttribute("title", new Date(t < 1e12 ? t * 1000 : t).toLocaleString(config.locale));
		ui.log.appendChild(n);
		scrollDown();
		return n;
	}

	function addNotice(text) {
		ui.log.appendChild(el("div", "rdw-notice", null, text));
		scrollDown();
	}

	/* Quick replies under an agent message; one click answers, then they go. */
	function addButtons(buttons) {
		removeButtons(); /* only the latest offer can be answered */
		var group = el("div", "rdw-quick", { role: "group" });
		buttons.forEach(function (b) {
			if (!b || !b.id) return;
			var btn = el("button", null, { type: "button" }, b.title || b.id);
			btn.addEventListener("click", function () {
				sendMessage({ type: "button", button: String(b.id) }, b.title || b.id);
				ui.input.focus();
			});
			group.appendChild(btn);
		});
		ui.log.appendChild(group);
		scrollDown();
	}

	function removeButtons() {
		var groups = ui.log.querySelectorAll(".rdw-quick");
		for (var i = 0; i < groups.length; i++) {
			groups[i].parentNode.removeChild(groups[i]);
		}
	}

	function showTyping(on) {
		clearTimeout(typingTimer);
		ui.typing.hidden = !on;
		if (on) typingTimer = setTimeout(function () { showTyping(false); }, TYPING_SHOW_MS);
	}

	/* ------------------------------------------------------------ the connection */

	var ws = null;
	var ready = false;        /* welcome received on the current socket */
	var busyShown = false;    /* the "too many chats" notice is on screen */
	var attempt = 0;          /* failed connections since the last welcome */
	var retryTimer = null;
	var everConnected = false;
	var lastTypingSent = 0;
	var queue = [];           /* {id, frame, node}: not acked yet, in order */
	var seenReplies = {};     /* server reply ids shown (a push can come twice) */

	function connect() {
		if (ws || retryTimer) return;
		setStatus(everConnected ? T.reconnecting : T.connecting);
		try {
			ws = new WebSocket(config.url, PROTOCOL);
		} catch (e) {
			ws = null;
			scheduleReconnect();
			return;
		}
		var sock = ws;
		sock.onopen = function () {
			var hello = { type: "hello", locale: config.locale };
			var token = loadToken();
			if (token) hello.session = token;
			sock.send(JSON.stringify(hello));
		};
		sock.onmessage = function (ev) {
			var f;
			try {
				f = JSON.parse(ev.data);
			} catch (e) {
				return;
			}
			if (sock === ws && f && typeof f === "object") onFrame(f);
		};
		sock.onclose = function () {
			if (sock !== ws) return;
			ws = null;
			ready = false;
			showTyping(false);
			scheduleReconnect();
		};
		sock.onerror = function () { /* onclose follows */ };
	}

	/* Exponential backoff with jitter, capped; a welcome resets it. */
	function scheduleReconnect() {
		if (retryTimer) return;
		setStatus(T.reconnecting);
		var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt));
		attempt++;
		delay = delay / 2 + Math.random() * delay / 2;
		retryTimer = setTimeout(function () {
			retryTimer = null;
			connect();
		}, delay);
	}

	/* Back online or back on the tab: try now instead of waiting the backoff out. */
	function reconnectNow() {
		if (retryTimer && everConnected) {
			clearTimeout(retryTimer);
			retryTimer = null;
			connect();
		}
	}

	function onFrame(f) {
		switch (f.type) {
		case "welcome":
			onWelcome(f);
			break;
		case "ack":
			for (var i = 0; i < queue.length; i++) {
				if (queue[i].id === f.id) {
					queue[i].node.classList.remove("rdw-msg--pending");
					queue.splice(i, 1);
					break;
				}
			}
			break;
		case "typing":
			showTyping(true);
			break;
		case "reply":
			if (f.id) {
				if (seenReplies[f.id]) break;
				seenReplies[f.id] = true;
			}
			showTyping(false);
			addMessage("agent", String(f.text || ""), Date.now());
			if (Array.isArray(f.buttons) && f.buttons.length) addButtons(f.buttons);
			if (!isOpen) setUnread(unread + 1);
			break;
		case "error":
			onError(f);
			break;
		}
	}

	function onWelcome(f) {
		ready = true;
		busyShown = false; /* the log is redrawn below */
		everConnected = true;
		attempt = 0;
		setStatus("");
		if (f.session) saveToken(String(f.session));
		/* The history is the truth: render it, then what we still owe. */
		while (ui.log.firstChild) {
			ui.log.removeChild(ui.log.firstChild);
		}
		var history = Array.isArray(f.history) ? f.history : [];
		history.forEach(function (h, i) {
			addMessage(h.dir === "in" ? "customer" : "agent", String(h.text || ""), h.ts);
			if (i === history.length - 1 && h.dir !== "in" && Array.isArray(h.buttons) && h.buttons.length) {
				addButtons(h.buttons); /* an offer still waiting for an answer */
			}
		});
		queue.forEach(function (q) {
			ui.log.appendChild(q.node);
			ws.send(q.frame); /* same id: the server acks it again and processes it once */
		});
		scrollDown();
	}

	/* Error frames carry no message id: a refused message is the newest one
	 * still waiting for its ack (the server answers frames in order). */
	function onError(f) {
		if (f.code === "rate_limited" && !ready) {
			/* the socket itself was refused (too many from this address):
			 * the server closes it and we reconnect with backoff */
			if (!busyShown) addNotice(T.busy);
			busyShown = true;
		} else if (f.code === "too_large" || f.code === "rate_limited") {
			var q = queue.pop();
			if (q) {
				q.node.classList.remove("rdw-msg--pending");
				q.node.classList.add("rdw-msg--failed");
				q.node.setAttribute("title", T.failed);
			}
			addNotice(T[f.code]);
		} else if (f.code === "no_hello" && ws && ws.readyState === 1) {
			ws.close(); /* start over: the reconnect says hello first */
		} else if (!ready && ws) {
			ws.close(); /* the session could not be opened: retry with backoff */
		} else if (window.console) {
			console.warn("redress webchat:", f.code, f.reason);
		}
	}

	/* Show the customer's message now, send it when we can. */
	function sendMessage(frame, shown) {
		removeButtons(); /* the customer answered: the offer's buttons are spent */
		frame.id = randomId();
		var json = JSON.stringify(frame);
		var node = addMessage("customer", shown, Date.now());
		if (utf8Length(json) > MAX_FRAME_BYTES) {
			node.classList.add("rdw-msg--failed");
			addNotice(T.too_large);
			return;
		}
		node.classList.add("rdw-msg--pending");
		queue.push({ id: frame.id, frame: json, node: node });
		if (ready && ws && ws.readyState === 1) {
			ws.send(json);
		} else {
			connect();
		}
	}

	function sendTyping() {
		var now = Date.now();
		if (ready && ws && ws.readyState === 1 && now - lastTypingSent > TYPING_SEND_EVERY_MS) {
			lastTypingSent = now;
			ws.send(JSON.stringify({ type: "typing" }));
		}
	}

	/* ------------------------------------------------------------ start */

	function start() {
		build();
		window.addEventListener("online", reconnectNow);
		document.addEventListener("visibilitychange", function () {
			if (!document.hidden) reconnectNow();
		});
		/* A returning customer reconnects at once (history, unread replies);
		 * a new visitor opens no socket until they open the chat. */
		if (loadToken()) connect();
	}

	if (document.body) {
		start();
	} else {
		document.addEventListener("DOMContentLoaded", start);
	}
})();
