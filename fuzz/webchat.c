/* webchat.c — fuzz the web chat's frame reader: a WebSocket text frame as
 * the socket callback reads it (jansson, duplicates refused), then
 * webchat_parse_frame and, for a usable message or button, the inbound
 * message webchat_frame_message builds (channels/webchat.c). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "channels/webchat_int.h"
#include "fuzz/fuzz.h"

#define PUB "0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return 0;
	}
	struct wc_frame f;
	struct message m;
	webchat_parse_frame(o, &f);
	FUZZ_CHECK(f.type >= WC_FRAME_BAD && f.type <= WC_FRAME_BUTTON);
	FUZZ_CHECK(FUZZ_TERMINATED(f.session) && FUZZ_TERMINATED(f.locale));
	switch (f.type) {
	case WC_FRAME_BAD:
		FUZZ_CHECK(f.reason != NULL);
		break;
	case WC_FRAME_HELLO:
		FUZZ_CHECK(!f.reason);
		FUZZ_CHECK(!f.session[0] || (strlen(f.session) == WC_TOKEN_HEX &&
					     strspn(f.session, "0123456789abcdef") == WC_TOKEN_HEX));
		FUZZ_CHECK(strspn(f.locale, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_") ==
			   strlen(f.locale));
		break;
	case WC_FRAME_TYPING:
		FUZZ_CHECK(!f.reason);
		break;
	case WC_FRAME_MESSAGE:
	case WC_FRAME_BUTTON:
		if (f.reason) {
			FUZZ_CHECK(webchat_frame_message(&f, PUB, "en", &m) == RD_EINVAL);
			FUZZ_CHECK(!m.text && !m.route);
			break;
		}
		FUZZ_CHECK(f.id && f.id[0] && strlen(f.id) <= 64);
		FUZZ_CHECK(webchat_frame_message(&f, PUB, "pt-BR", &m) == RD_OK);
		fuzz_check_message(&m, "webchat");
		FUZZ_CHECK(strcmp(m.channel_user_id, PUB) == 0);
		FUZZ_CHECK(strcmp(m.conversation_id, "webchat:" PUB) == 0);
		FUZZ_CHECK(strncmp(m.message_id, PUB ":", 17) == 0 && strcmp(m.message_id + 17, f.id) == 0);
		FUZZ_CHECK(strcmp(m.locale, "pt-BR") == 0);
		if (f.type == WC_FRAME_BUTTON)
			FUZZ_CHECK(m.kind == MSG_BUTTON && strcmp(m.payload, f.button) == 0 && !m.text);
		else /* the text as typed, cut only past MODEL_MAX_TEXT */
			FUZZ_CHECK(m.kind == MSG_TEXT && strncmp(m.text, f.text, strlen(m.text)) == 0 &&
				   (strlen(m.text) == strlen(f.text) || strlen(f.text) > MODEL_MAX_TEXT));
		message_free(&m);
		break;
	}
	json_decref(o);
	return 0;
}
