"""CRM: companies, contacts, leads pipeline, tasks with fair auto-assignment, activities."""
