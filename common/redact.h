/* redact.h — card data out of customer text, before anything keeps it.
 *
 * redress never needs a card number or a card's security code, and PCI DSS
 * forbids keeping them (req. 3.3: no card verification code after
 * authorization; 3.4: no readable PAN). Every inbound message is redacted
 * once, where it enters the system (gateway/io.c, before the inbound stream),
 * so the transcript, tickets, review cards, logs and the LLM only ever see
 * the mark. What counts:
 *
 *  - a card number (PAN): 13 to 19 digits (ISO/IEC 7812) that pass the Luhn
 *    check, written unbroken or as groups joined by ONE space or ONE dash
 *    ("4111 1111 1111 1111", "4111-1111-1111-1111", "3782 822463 10005").
 *    In a longer run of joined groups ("order 8421 4111 1111 1111 1111")
 *    every stretch of whole groups holding 13–19 digits that passes Luhn is
 *    replaced and the other groups are kept ("order 8421 [redacted]"). An
 *    unbroken stretch of more than 19 digits is replaced whole: a card
 *    number may hide in it at any offset.
 *  - a card verification code: a run of exactly 3 or 4 digits (not the
 *    first group of a longer run) right after one of the words "cvv",
 *    "cvc", "cvv2", "cvc2", "security code", "código de segurança",
 *    "código de seguridad" (ASCII case-insensitive, accents optional, not
 *    inside a longer word; several spaces count as one), with between them
 *    only spaces and : = # - . and at most 4 of the words is, é, e, es,
 *    number, número, no, of, the, my, card, do, da, de, del, la, meu,
 *    minha, mi, cartão, tarjeta:
 *    "cvv 123", "CVC: 1234", "my security code is 123", "o código de
 *    segurança do cartão é 123", "el código de seguridad es 123".
 *
 * Each is replaced by REDACT_MARK. Everything else is kept as written:
 * order ids, amounts ("R$ 186,00"), phone numbers ("+55 11 98765-4321"
 * unless it happens to pass Luhn at 13 digits), digit runs that fail Luhn,
 * groups joined by two spaces or by dots, and 3–4 digits after any other
 * word. Digits are ASCII 0-9 only. */
#ifndef RD_REDACT_H
#define RD_REDACT_H

#include "common/rd.h"

#define REDACT_MARK "[redacted]"

/* A malloc'd copy of text (UTF-8; NULL reads as "") with card numbers and
 * verification codes replaced by REDACT_MARK; *n_redacted (may be NULL)
 * gets how many were replaced. Caller frees. NULL on ENOMEM. Thread-safe,
 * linear in the length of text. */
char *redact_text(const char *text, int *n_redacted) RD_WUR;

#endif
