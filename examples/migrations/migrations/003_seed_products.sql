-- The launch catalogue. Applied twice it would fail: the ids and SKUs are unique.
-- depends-on: 002_products
-- up
INSERT INTO products (id, sku, name, price_cents) VALUES
  (1, 'MUG-001', 'Enamel mug', 1200),
  (2, 'TEE-001', 'Logo t-shirt', 2500),
  (3, 'CAP-001', 'Baseball cap', 1800),
  (4, 'BAG-001', 'Tote bag', 1500);
-- down
DELETE FROM products WHERE id IN (1, 2, 3, 4);
