/* queue.h — a mutex-protected intrusive FIFO for handing work between
 * threads. Nodes embed `struct qnode` first; the queue never allocates. */
#ifndef RD_QUEUE_H
#define RD_QUEUE_H

#include <pthread.h>
#include <stddef.h>

struct qnode {
	struct qnode *next;
};

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qnode *head, *tail;
	size_t len;
};

#define QUEUE_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0 }

static inline void queue_push(struct queue *q, struct qnode *n)
{
	n->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	q->len++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Append the list head..tail (n nodes, linked by next, tail->next NULL)
 * under one lock, with one wake-up. */
static inline void queue_push_list(struct queue *q, struct qnode *head, struct qnode *tail, size_t n)
{
	if (!head)
		return;
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = head;
	else
		q->head = head;
	q->tail = tail;
	q->len += n;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Take the whole list (FIFO order), or NULL. */
static inline struct qnode *queue_take_all(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	struct qnode *n = q->head;
	q->head = q->tail = NULL;
	q->len = 0;
	pthread_mutex_unlock(&q->mu);
	return n;
}

static inline size_t queue_len(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->len;
	pthread_mutex_unlock(&q->mu);
	return n;
}

#endif
