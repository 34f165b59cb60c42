-- Customers may leave a phone number for delivery questions.
-- depends-on: 001_customers
-- up
ALTER TABLE customers ADD COLUMN phone TEXT;
-- down
ALTER TABLE customers DROP COLUMN phone;
