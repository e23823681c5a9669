-- The language an e-ID holder last signed in with (internal/identity): the
-- notices texted to them (many wrong passwords tried on their account, a
-- sign-in code) are written in it.
ALTER TABLE accounts ADD COLUMN lang TEXT NOT NULL DEFAULT 'vi';
