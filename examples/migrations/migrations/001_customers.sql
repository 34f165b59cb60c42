-- Customers who place orders.
-- up
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL
);
-- down
DROP TABLE customers;
