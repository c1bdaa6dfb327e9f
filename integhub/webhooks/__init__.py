"""Webhook receivers for Retell and Cal.com: signature checks (`verify`), the inbox of accepted
deliveries (`inbox`), what each event does to the local tables (`handlers`), one delivery from raw
bytes to reply (`receiver`) and the HTTP routes (`routes`). Registration and replay are service
functions in integhub.services.webhooks."""
