-- Readable copies of wallet documents (internal/wallet, pdf.go): a PDF of
-- one page sealed by the issuing agency, made on the holder's first
-- download in a language and kept so that every later download of it is
-- the same file. The PDF holds the claims, so it is sealed under the
-- key-encryption key as the credential is.
CREATE TABLE wallet_renderings (
	document_id TEXT NOT NULL,
	lang TEXT NOT NULL,
	sealed TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (document_id, lang)
);
