-- postgres-schema.sql — the schema [orders.postgres]'s default statements
-- read and write (config.ini; README "Orders from your own store"). Close to
-- what shops already have: orders, their items, customers; plus refunds, the
-- table that makes a write-back idempotent per refund id.
--
--   psql -v ON_ERROR_STOP=1 -d shop -f demo/postgres-schema.sql
--   psql -v ON_ERROR_STOP=1 -d shop -f demo/postgres-fixtures.sql   (the demo orders)
--
-- Amounts are integer minor units (4900 = USD 49.00), never floats.
-- redress needs SELECT on orders, order_items and customers, INSERT on
-- refunds and UPDATE (refunded_amount) on orders: see the GRANTs at the end.

CREATE TABLE customers (
    email        text PRIMARY KEY,
    chargebacks  integer NOT NULL DEFAULT 0 CHECK (chargebacks >= 0),
    risk_score   numeric(4, 3) NOT NULL DEFAULT 0 CHECK (risk_score BETWEEN 0 AND 1)
);

CREATE TABLE orders (
    id               text PRIMARY KEY,               -- the number customers quote
    customer_email   text NOT NULL,
    customer_name    text,
    customer_phone   text,                            -- E.164: +5511987654321
    payment_id       text NOT NULL,                   -- the provider's payment id
    rail             text NOT NULL,                   -- card | pix | usdc
    provider         text NOT NULL,                   -- sandbox | stripe | …
    currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3,4}$'),
    amount           bigint NOT NULL CHECK (amount >= 0),
    refunded_amount  bigint NOT NULL DEFAULT 0,
    refund_status    text GENERATED ALWAYS AS (
                         CASE WHEN refunded_amount = 0 THEN 'none'
                              WHEN refunded_amount < amount THEN 'partial'
                              ELSE 'refunded' END) STORED,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    delivery_status  text NOT NULL DEFAULT '',        -- delivered | in_transit | lost
    -- the last line of defence: whatever the statements, never refund more than was paid
    CONSTRAINT refunded_within_amount CHECK (refunded_amount >= 0 AND refunded_amount <= amount)
);
CREATE INDEX orders_customer_email ON orders (customer_email);

CREATE TABLE order_items (
    line        bigserial PRIMARY KEY,
    order_id    text NOT NULL REFERENCES orders (id),
    sku         text NOT NULL,
    category    text NOT NULL DEFAULT '',
    final_sale  boolean NOT NULL DEFAULT false,
    price       bigint NOT NULL CHECK (price >= 0),  -- per unit
    quantity    integer NOT NULL DEFAULT 1 CHECK (quantity > 0)
);
CREATE INDEX order_items_order ON order_items (order_id);

-- One row per refund redress wrote back: a replay of the same refund id
-- inserts nothing, so it changes nothing.
CREATE TABLE refunds (
    refund_id   text PRIMARY KEY,
    order_id    text NOT NULL REFERENCES orders (id),
    amount      bigint NOT NULL CHECK (amount > 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_order ON refunds (order_id);

-- A role for redress with no more than it needs (uncomment and adapt):
-- CREATE ROLE redress LOGIN;
-- GRANT SELECT ON orders, order_items, customers TO redress;
-- GRANT UPDATE (refunded_amount) ON orders TO redress;
-- GRANT SELECT, INSERT ON refunds TO redress;
