package aiformat

// Credential is the header carrying key for this provider, as the filter sends its own keys
// (Authorization: Bearer, api-key, x-api-key or x-goog-api-key): a tenant's own key for the
// provider replaces the provider's with it.
func (pr *Provider) Credential(key string) [2]string {
	if pr.authHeader == "authorization" {
		return [2]string{"authorization", "Bearer " + key}
	}
	if pr.authHeader == "" { // a provider configured without keys: its type's header
		switch pr.Type {
		case ProviderAzure:
			return [2]string{"api-key", key}
		case ProviderAnthropic:
			return [2]string{"x-api-key", key}
		case ProviderGemini:
			return [2]string{"x-goog-api-key", key}
		}
		return [2]string{"authorization", "Bearer " + key}
	}
	return [2]string{pr.authHeader, key}
}
