"""Orchestration: command line, configs, Lightning modules and data modules, jobs. The only
room that imports Lightning."""
