-- postgres-fixtures.sql — the demo orders of demo/orders.jsonl (same ids,
-- customers and amounts; demo/README.md says what each one exercises) for
-- demo/postgres-schema.sql. Times are relative to now(), so the demo never
-- goes stale: load it again to reset it.
--
--   psql -v ON_ERROR_STOP=1 -d shop -f demo/postgres-fixtures.sql

BEGIN;
TRUNCATE refunds, order_items, orders, customers;

INSERT INTO customers (email, chargebacks, risk_score) VALUES
    ('marina@example.com', 0, 0.05),
    ('alex@example.com', 0, 0.02),
    ('priya@example.org', 0, 0.04),
    ('jordan@example.com', 0, 0.03),
    ('sam@example.org', 0, 0.05),
    ('chloe@example.com', 0, 0.05),
    ('ben@example.org', 0, 0.05),
    ('mia@example.com', 0, 0.05),
    ('omar@example.org', 2, 0.1),
    ('grace@example.com', 0, 0.08),
    ('lucas@example.org', 0, 0.05),
    ('noah@example.com', 0, 0.05),
    ('lucia@example.org', 0, 0.03),
    ('ethan@example.com', 0, 0.6),
    ('ava@example.org', 0, 0.05);

INSERT INTO orders (id, customer_email, customer_name, customer_phone, payment_id, rail, provider,
                    currency, amount, refunded_amount, created_at, delivered_at, delivery_status) VALUES
    ('8421', 'marina@example.com', 'Marina', '+5511987654321', 'E18236120202611201530s0123456789', 'pix', 'sandbox',
     'BRL', 18600, 0, now() - interval '2 days', now() - interval '1 days', 'delivered'),
    ('1001', 'alex@example.com', 'Alex Doe', '+14155550101', 'pi_sandbox_1001', 'card', 'sandbox',
     'USD', 4900, 0, now() - interval '6 days', now() - interval '3 days', 'delivered'),
    ('1002', 'priya@example.org', 'Priya Shah', '+14155550102', 'pi_sandbox_1002', 'card', 'sandbox',
     'USD', 12000, 0, now() - interval '8 days', now() - interval '5 days', 'delivered'),
    ('1003', 'jordan@example.com', 'Jordan Lee', '+14155550103', 'pi_sandbox_1003', 'card', 'sandbox',
     'USD', 35000, 0, now() - interval '10 days', now() - interval '7 days', 'delivered'),
    ('1004', 'sam@example.org', 'Sam Rivera', '+14155550104', 'pi_sandbox_1004', 'card', 'sandbox',
     'USD', 5500, 0, now() - interval '50 days', now() - interval '45 days', 'delivered'),
    ('1005', 'chloe@example.com', 'Chloe Martin', '+447700900123', 'pi_sandbox_1005', 'card', 'sandbox',
     'USD', 3900, 0, now() - interval '9 days', now() - interval '6 days', 'delivered'),
    ('1006', 'ben@example.org', 'Ben Carter', '+14155550106', 'pi_sandbox_1006', 'card', 'sandbox',
     'USD', 5000, 5000, now() - interval '14 days', now() - interval '11 days', 'delivered'),
    ('1007', 'mia@example.com', 'Mia Johnson', '+14155550107', 'pi_sandbox_1007', 'card', 'sandbox',
     'USD', 8000, 3000, now() - interval '12 days', now() - interval '9 days', 'delivered'),
    ('1008', 'omar@example.org', 'Omar Haddad', '+14155550108', 'pi_sandbox_1008', 'card', 'sandbox',
     'USD', 4500, 0, now() - interval '7 days', now() - interval '4 days', 'delivered'),
    ('1009', 'grace@example.com', 'Grace Kim', '+14155550109', 'pi_sandbox_1009', 'card', 'sandbox',
     'USD', 15000, 0, now() - interval '6 days', now() - interval '2 days', 'delivered'),
    ('1010', 'lucas@example.org', 'Lucas Moreau', '+14155550110', 'pi_sandbox_1010', 'card', 'sandbox',
     'USD', 6000, 0, now() - interval '12 days', NULL, 'in_transit'),
    ('1011', 'noah@example.com', 'Noah Williams', '+14155550111', '0x5f2c8e1a9b3d4c7e6f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6', 'usdc', 'sandbox',
     'USDC', 2499, 0, now() - interval '4 days', now() - interval '2 days', 'delivered'),
    ('1012', 'lucia@example.org', 'Lucía Fernández', '+34612345678', 'pi_sandbox_1012', 'card', 'sandbox',
     'EUR', 1250, 0, now() - interval '5 days', now() - interval '2 days', 'delivered'),
    ('1013', 'ethan@example.com', 'Ethan Brooks', '+14155550113', 'pi_sandbox_1013', 'card', 'sandbox',
     'USD', 3000, 0, now() - interval '5 days', now() - interval '3 days', 'delivered'),
    ('1014', 'ava@example.org', 'Ava Thompson', '+14155550114', 'pi_sandbox_1014', 'card', 'sandbox',
     'USD', 5000, 0, now() - interval '3 days', now() - interval '3 days', 'delivered');

INSERT INTO order_items (order_id, sku, category, final_sale, price, quantity) VALUES
    ('8421', 'TSHIRT-001', 'apparel', false, 18600, 1),
    ('1001', 'MUG-014', 'home', false, 2450, 2),
    ('1002', 'HEADPHONES-300', 'electronics', false, 12000, 1),
    ('1003', 'JACKET-220', 'apparel', false, 35000, 1),
    ('1004', 'LAMP-090', 'home', false, 5500, 1),
    ('1005', 'DRESS-CLEAR-07', 'apparel', true, 3900, 1),
    ('1006', 'SHOES-410', 'footwear', false, 5000, 1),
    ('1007', 'TOWEL-SET-2', 'home', false, 3000, 1),
    ('1007', 'ROBE-55', 'apparel', false, 5000, 1),
    ('1008', 'BACKPACK-12', 'bags', false, 4500, 1),
    ('1009', 'SPEAKER-BT-5', 'electronics', false, 15000, 1),
    ('1010', 'BOOK-SET-3', 'books', false, 2000, 3),
    ('1011', 'CAP-LOGO-1', 'accessories', false, 2499, 1),
    ('1012', 'SOCKS-3P', 'apparel', false, 1250, 1),
    ('1013', 'CHARGER-65W', 'electronics', false, 3000, 1),
    ('1014', 'GIFTCARD-50', 'gift_card', false, 5000, 1);

COMMIT;
