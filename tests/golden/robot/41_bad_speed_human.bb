# world: human.json
# A written speed over the near-human limit is rejected (a defaulted one is slowed).
s1 = pick(object=red_cup, speed=0.2 m/s);
