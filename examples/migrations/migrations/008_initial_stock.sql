-- 100 of each launch product in stock. Nothing unique here: applied twice it would silently
-- double the stock, which is why each migration must be applied exactly once.
-- depends-on: 003_seed_products, 007_inventory
-- up
INSERT INTO inventory_movements (product_id, delta, reason)
  SELECT id, 100, 'initial stock' FROM products;
-- down
DELETE FROM inventory_movements WHERE reason = 'initial stock';
