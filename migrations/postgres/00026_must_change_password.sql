-- +goose Up
-- An admin may require a user to choose a new password at their next
-- sign-in (the admin's «Сменить пароль при следующем входе»): until they
-- do, every page leads to «Смените пароль» and the API answers 403
-- password_change_required. Changing one's own password clears it.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE users DROP COLUMN must_change_password;
