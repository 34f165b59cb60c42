-- The order history page looks orders up by customer, the warehouse by status.
-- depends-on: 004_orders
-- up
CREATE INDEX orders_by_customer ON orders (customer_id);
CREATE INDEX orders_by_status ON orders (status);
-- down
DROP INDEX orders_by_status;
DROP INDEX orders_by_customer;
