/* webchat_int.h — the web chat's frame reader (webchat.c), apart from the
 * socket so it can be driven alone (fuzz/webchat_frame.c). Private to
 * channels/. Frames are documented in README "Web chat". */
#ifndef RD_WEBCHAT_INT_H
#define RD_WEBCHAT_INT_H

#include <jansson.h>
#include "channels/channel.h"

#define WC_TOKEN_HEX 32          /* session token: 128 bits in hex */

enum wc_frame_type {
	WC_FRAME_BAD = 0,        /* no type, or an unknown one: reason says which */
	WC_FRAME_HELLO,
	WC_FRAME_TYPING,
	WC_FRAME_MESSAGE,
	WC_FRAME_BUTTON,
};

/* One client frame, read. */
struct wc_frame {
	enum wc_frame_type type;
	const char *reason;             /* static text for a "bad_frame" error, NULL when
	                                   usable; MESSAGE/BUTTON with a reason lack fields */
	char session[WC_TOKEN_HEX + 1]; /* HELLO: the token when well-formed (32 lower-case
	                                   hex), else "" (a new session) */
	char locale[MODEL_LOCALE_LEN];  /* HELLO: when well-formed ([A-Za-z_-], fits), else "" */
	const char *id;                 /* MESSAGE/BUTTON: borrowed from the frame's JSON */
	const char *text;               /* MESSAGE: borrowed */
	const char *button;             /* BUTTON: borrowed */
};

/* Read a client frame o (a JSON object, borrowed; f borrows strings from it,
 * so keep o alive while f is used). Never fails: see f->type and f->reason. */
void webchat_parse_frame(json_t *o, struct wc_frame *f);

/* The inbound message of a usable MESSAGE/BUTTON frame on session pub (the
 * public id) with the session's locale (both borrowed). *m is zeroed first;
 * the caller owns it after RD_OK (message_free). RD_EINVAL for a frame that
 * is not a usable message, RD_ENOMEM. Text longer than MODEL_MAX_TEXT bytes
 * is cut at a UTF-8 boundary. */
enum rd_err webchat_frame_message(const struct wc_frame *f, const char *pub, const char *locale,
				  struct message *m) RD_WUR;

#endif
