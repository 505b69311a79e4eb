s1 = pick(object=red_cup) @retries(9);
