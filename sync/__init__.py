"""Business Central ⇄ Dataverse synchronization engine."""
