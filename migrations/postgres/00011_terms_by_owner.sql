-- +goose Up
-- The word indexes by owner and word: a search by several words walks the
-- range of one word and checks the others per company or contact, which
-- these answer from the index alone (the indexes by owner alone visited
-- the table for every word of every candidate). They also serve what the
-- indexes by owner served: deleting a company's or a contact's words.
CREATE INDEX company_terms_company_term_idx ON company_terms (company_id, term);
CREATE INDEX contact_terms_contact_term_idx ON contact_terms (contact_id, term);

-- +goose Down
DROP INDEX contact_terms_contact_term_idx;
DROP INDEX company_terms_company_term_idx;
