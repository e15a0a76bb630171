-- +goose Up
-- The company and contact cards show the call requests made about them
-- (newest first), and deleting a company or contact sets their
-- references to NULL: both look the requests up by these columns.
CREATE INDEX phone_call_requests_company_idx ON phone_call_requests (company_id, id);
CREATE INDEX phone_call_requests_contact_idx ON phone_call_requests (contact_id, id);
-- The QR code's link of a pairing, sealed (AES-GCM) with a key derived
-- from the server's secret key, so that any process can draw the QR code
-- image for its owner while the pairing waits; never the plain secret.
ALTER TABLE phone_pairings ADD COLUMN qr_sealed TEXT;

-- +goose Down
ALTER TABLE phone_pairings DROP COLUMN qr_sealed;
DROP INDEX phone_call_requests_contact_idx;
DROP INDEX phone_call_requests_company_idx;
