ACTIONS: dict = {}
