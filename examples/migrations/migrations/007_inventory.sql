-- Stock as a ledger of movements, and the stock level of each product derived from it.
-- depends-on: 002_products
-- up
CREATE TABLE inventory_movements (
  product_id INTEGER NOT NULL REFERENCES products (id),
  delta INTEGER NOT NULL,
  reason TEXT NOT NULL
);
CREATE VIEW stock_levels AS
  SELECT product_id, SUM(delta) AS on_hand FROM inventory_movements GROUP BY product_id;
-- down
DROP VIEW stock_levels;
DROP TABLE inventory_movements;
