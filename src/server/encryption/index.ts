export { setUpSecretsEncryption, type EncryptionStatus, type ReencryptResult, type SecretsEncryption } from "./secrets-encryption";
export { isSecretsEncryptPath, secretsEncryptResponse, SECRETS_ENCRYPT_PATH } from "./routes";
export { encryptionConfigPath } from "./key-file";
