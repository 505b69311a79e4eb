# world: obstacle.json
s1 = move_to(target=obstacle_1);
